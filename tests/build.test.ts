import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { dropDatabase, testDatabaseName, testEnv, withAdminClient, withDatabase } from "@inboxerr/testing";
import { BUNDLES, bundle, buildBundles, declaredIn } from "../scripts/build";
import { MIGRATE_COMMAND, MIGRATE_DIR } from "../scripts/services";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

describe("pnpm build", () => {
  it("bundles every service and the migration CLI, workspace packages inside, npm packages left to node_modules", async () => {
    const built = await buildBundles();
    expect(built.map((b) => b.name).sort()).toEqual(BUNDLES.map((b) => b.name).sort());
    for (const { name, outfile } of built) {
      const code = readFileSync(outfile, "utf8");
      expect(code, name).not.toMatch(/from\s*["']@inboxerr\//);
      expect(code, name).toMatch(/from\s*["']zod["']/);
      const entry = BUNDLES.find((b) => b.name === name)!.entry;
      expect(JSON.parse(readFileSync(`${outfile}.map`, "utf8")).sources, name).toContain(`../${entry}`);
      // Only the migrate bundle may carry the CLI: a service that did migrated on start.
      if (name !== "migrate") {
        expect(code, name).not.toContain("db migrate:");
        expect(code, name).not.toContain("node-postgres/migrator");
      }
    }
  });

  it("refuses a bundle it does not know", async () => {
    await expect(buildBundles(["no-such-service"])).rejects.toThrow(/unknown bundle\(s\): no-such-service/);
  });

  it("migrates from the bundle, as the image does (no tsx there), finding the committed migrations", async () => {
    await buildBundles(["migrate"]);
    const server = testEnv().databaseUrl;
    const name = testDatabaseName();
    const env = { ...process.env, DATABASE_URL: withDatabase(server, name) };
    try {
      const [bin, ...args] = MIGRATE_COMMAND;
      const first = await run(bin, args, { cwd: resolve(root, MIGRATE_DIR), env });
      expect(first.stdout).toContain(`created database`);
      expect(first.stdout).toMatch(/applied \d+ migration\(s\); \d+ applied in total/);
      const again = await run(bin, args, { cwd: resolve(root, MIGRATE_DIR), env });
      expect(again.stdout).toContain("already up to date");
    } finally {
      await withAdminClient(server, (admin) => dropDatabase(admin, name));
    }
  });

  it("refuses a bundle that imports an npm package its package does not declare, and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inboxerr-build-"));
    try {
      const pkg = (name: string, source: string) => {
        mkdirSync(join(dir, name, "src"), { recursive: true });
        writeFileSync(join(dir, name, "package.json"), JSON.stringify({ name, dependencies: {} }));
        writeFileSync(join(dir, name, "src", "main.ts"), source);
        return { name, dir: join(dir, name), entry: "src/main.ts", outfile: "dist/main.js" };
      };
      const good = pkg("good", `import { join } from "node:path";\nconsole.log(join("a", "b"));\n`);
      const bad = pkg("bad", `import express from "express";\nconsole.log(typeof express);\n`);
      await expect(bundle([good, bad])).rejects.toThrow(/bad: the bundle imports express, which .* must list under dependencies/);
      expect(existsSync(join(good.dir, good.outfile))).toBe(false);
      expect(existsSync(join(bad.dir, bad.outfile))).toBe(false);
      await bundle([good]);
      expect(readFileSync(join(good.dir, good.outfile), "utf8")).toContain("node:path");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("declaredIn: the npm packages a bundle may import", () => {
    const dir = mkdtempSync(join(tmpdir(), "inboxerr-build-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const install = (name: string) => {
      mkdirSync(join(dir, "node_modules", name), { recursive: true });
      writeFileSync(join(dir, "node_modules", name, "package.json"), JSON.stringify({ name }));
    };
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ dependencies: { own: "1", "@scope/name": "1", "not-installed": "1" }, devDependencies: { "dev-only": "1" } }),
    );
    for (const name of ["own", "@scope/name", "dev-only", "undeclared"]) install(name);

    it("are the package's own dependencies, installed, scoped ones too", () => {
      expect(declaredIn("own", dir)).toBe(true);
      expect(declaredIn("@scope/name", dir)).toBe(true);
    });

    it("are not devDependencies (the image prunes them), undeclared or uninstalled packages", () => {
      expect(declaredIn("dev-only", dir)).toBe(false);
      expect(declaredIn("undeclared", dir)).toBe(false);
      expect(declaredIn("not-installed", dir)).toBe(false);
    });
  });
});
