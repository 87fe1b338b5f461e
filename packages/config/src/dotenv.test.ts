import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadRootDotEnv } from "./dotenv";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function workspace(env: string): { root: string; service: string } {
  const root = mkdtempSync(join(tmpdir(), "inboxerr-dotenv-"));
  writeFileSync(join(root, "pnpm-workspace.yaml"), "packages: []\n");
  writeFileSync(join(root, ".env"), env);
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

  it("leaves tests alone, so a developer's .env cannot change what a test sees", () => {
    const { service } = workspace("INBOXERR_T_C=from-file\n");
    process.env.NODE_ENV = "test";
    expect(loadRootDotEnv(service)).toBeNull();
    expect(process.env.INBOXERR_T_C).toBeUndefined();
  });
});
