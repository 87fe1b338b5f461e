/**
 * `pnpm build`: bundles each service's `src/main.ts` with the workspace packages it imports into
 * `<service>/dist/main.js` (ESM, with a source map), which is what `pnpm start`, the end-to-end
 * test, the benchmarks and the Docker image run (ADR 0007). npm packages stay external and are
 * loaded from node_modules at run time, so the bundle holds only our own code.
 *
 * `pnpm build api sender-worker` builds only those. Exits non-zero when a bundle imports an npm
 * package that is not a dependency of the service itself (one that only a workspace package
 * declares): it could build and even run here, then fail at start-up in the image.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { SERVICES, type ServiceName } from "./services";

const root = resolve(import.meta.dirname, "..");
const BUILTINS = new Set(builtinModules);

/** The package a bare import names: `pg` for `pg/lib/x`, `@scope/name` for `@scope/name/y`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * Whether `pkg` is installed in the service's own node_modules, i.e. one of its dependencies.
 * Stricter than Node, which would also look in the node_modules above: there, in development,
 * sit the root's dev dependencies, which the image's production install leaves out.
 */
export function installedIn(pkg: string, serviceDir: string): boolean {
  return existsSync(join(serviceDir, "node_modules", pkg, "package.json"));
}

/** Bundles @inboxerr/* (their TypeScript sources), leaves every other bare import to Node. */
function externalNpm(seen: Set<string>): Plugin {
  return {
    name: "external-npm",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("@inboxerr/")) return undefined;
        const pkg = packageOf(args.path);
        if (!args.path.startsWith("node:") && !BUILTINS.has(pkg)) seen.add(pkg);
        return { external: true };
      });
    },
  };
}

export type BuildResult = { service: ServiceName; outfile: string; ms: number };

/** Builds the named services (all by default); throws on a build error or an npm import the service does not declare. */
export async function buildServices(only?: readonly string[]): Promise<BuildResult[]> {
  const unknown = (only ?? []).filter((n) => !SERVICES.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown service(s): ${unknown.join(", ")}`);
  const selected = SERVICES.filter((s) => !only || only.length === 0 || only.includes(s.name));
  return Promise.all(
    selected.map(async (svc): Promise<BuildResult> => {
      const started = performance.now();
      const dir = resolve(root, svc.dir);
      const outfile = join(dir, "dist", "main.js");
      const imports = new Set<string>();
      const { outputFiles } = await build({
        entryPoints: [join(dir, "src", "main.ts")],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        sourcemap: true,
        // Stack traces and log lines keep our function names.
        keepNames: true,
        logLevel: "warning",
        plugins: [externalNpm(imports)],
        write: false,
      });
      const missing = [...imports].filter((pkg) => !installedIn(pkg, dir)).sort();
      if (missing.length > 0) {
        throw new Error(`${svc.name}: the bundle imports ${missing.join(", ")}, which ${svc.dir}/package.json must list as dependencies`);
      }
      // Written whole, then renamed over the old file: a service starting meanwhile (another
      // test file's system, a `pnpm start` in another terminal) reads the old bundle or the new
      // one, never half of one.
      mkdirSync(dirname(outfile), { recursive: true });
      for (const file of outputFiles) {
        const temp = `${file.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        writeFileSync(temp, file.contents);
        renameSync(temp, file.path);
      }
      return { service: svc.name, outfile, ms: performance.now() - started };
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  try {
    for (const r of await buildServices(process.argv.slice(2))) {
      console.log(`built ${r.service}: ${r.outfile.slice(root.length + 1)} (${Math.round(r.ms)} ms)`);
    }
  } catch (err) {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
