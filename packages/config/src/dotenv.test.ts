import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULTS_NOTED, DEFAULTS_NOTICE, loadRootDotEnv } from "./dotenv";

const saved = { ...process.env };
// Restored in place: process.loadEnvFile writes to the real environment, which a replaced
// process.env object would no longer show.
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

function workspace(env: string | null, example = "INBOXERR_T_EX=from-example\n"): { root: string; service: string } {
  const root = mkdtempSync(join(tmpdir(), "inboxerr-dotenv-"));
  writeFileSync(join(root, "pnpm-workspace.yaml"), "packages: []\n");
  if (env !== null) writeFileSync(join(root, ".env"), env);
  writeFileSync(join(root, ".env.example"), example);
  const service = join(root, "services", "api");
  mkdirSync(service, { recursive: true });
  return { root, service };
}

describe("loadRootDotEnv", () => {
  it("loads the workspace root's .env from a service directory, under the real environment", () => {
    const { root, service } = workspace("INBOXERR_T_A=from-file\nINBOXERR_T_B=from-file\n");
    process.env.NODE_ENV = "development";
    process.env.INBOXERR_T_B = "from-env";
    expect(loadRootDotEnv(service)).toBe(join(root, ".env"));
    expect(process.env.INBOXERR_T_A).toBe("from-file");
    expect(process.env.INBOXERR_T_B).toBe("from-env");
  });

  it("falls back to .env.example outside production, and says so once per process tree", () => {
    const { root, service } = workspace(null);
    process.env.NODE_ENV = "development";
    delete process.env[DEFAULTS_NOTED];
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(loadRootDotEnv(service)).toBe(join(root, ".env.example"));
      expect(loadRootDotEnv(service)).toBe(join(root, ".env.example"));
    } finally {
      process.stderr.write = write;
    }
    expect(process.env.INBOXERR_T_EX).toBe("from-example");
    expect(written).toEqual([`${DEFAULTS_NOTICE}\n`]);
  });

  it("never runs production on the example's development secrets", () => {
    const { service } = workspace(null);
    process.env.NODE_ENV = "production";
    expect(loadRootDotEnv(service)).toBeNull();
    expect(process.env.INBOXERR_T_EX).toBeUndefined();
  });

  it("leaves tests alone, so a developer's .env cannot change what a test sees", () => {
    const { service } = workspace("INBOXERR_T_C=from-file\n");
    process.env.NODE_ENV = "test";
    expect(loadRootDotEnv(service)).toBeNull();
    expect(process.env.INBOXERR_T_C).toBeUndefined();
  });
});
