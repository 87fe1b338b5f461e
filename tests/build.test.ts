import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildServices, installedIn } from "../scripts/build";
import { SERVICES } from "../scripts/services";

describe("pnpm build", () => {
  it("bundles every service with the workspace packages inside and npm packages left to node_modules", async () => {
    const built = await buildServices();
    expect(built.map((b) => b.service).sort()).toEqual(SERVICES.map((s) => s.name).sort());
    for (const { service, outfile } of built) {
      const code = readFileSync(outfile, "utf8");
      expect(code, service).not.toMatch(/from\s*["']@inboxerr\//);
      expect(code, service).toMatch(/from\s*["']express["']/);
      expect(readFileSync(`${outfile}.map`, "utf8"), service).toContain("src/main.ts");
    }
  });

  it("refuses a service it does not know", async () => {
    await expect(buildServices(["no-such-service"])).rejects.toThrow(/unknown service\(s\): no-such-service/);
  });

  describe("installedIn: the npm packages a service may import", () => {
    const root = mkdtempSync(join(tmpdir(), "inboxerr-build-"));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const pkg = (dir: string, name: string) => {
      mkdirSync(join(dir, "node_modules", name), { recursive: true });
      writeFileSync(join(dir, "node_modules", name, "package.json"), JSON.stringify({ name }));
    };
    const service = join(root, "services", "svc");
    mkdirSync(service, { recursive: true });
    pkg(service, "own");
    pkg(root, "hoisted");
    pkg(service, "@scope/name");

    it("are its own dependencies, scoped ones too", () => {
      expect(installedIn("own", service)).toBe(true);
      expect(installedIn("@scope/name", service)).toBe(true);
    });

    it("are not those only the root (dev dependencies) or a workspace package declares", () => {
      pkg(join(root, "packages", "lib"), "only-the-lib-has-it");
      expect(installedIn("hoisted", service)).toBe(false);
      expect(installedIn("only-the-lib-has-it", service)).toBe(false);
    });
  });
});
