/**
 * `pnpm build`: bundles each service's `src/main.ts` with the workspace packages it imports into
 * `<service>/dist/main.js` (ESM, with a source map), and the migration CLI into
 * `packages/db/dist/migrate-cli.js`: what `pnpm start`, the end-to-end test, the benchmarks and
 * the Docker image run (ADR 0007). npm packages stay external and are loaded from node_modules
 * at run time, so a bundle holds only our own code.
 *
 * `pnpm build api migrate` builds only those. Exits non-zero when a bundle imports an npm package
 * that its package does not list under `dependencies` (one that only a workspace package, the
 * root or its devDependencies bring): it could build and even run here, then fail at start-up
 * in the image, which installs production dependencies only.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { MIGRATE_BUNDLE, MIGRATE_DIR, SERVICE_BUNDLE, SERVICE_ENTRY, SERVICES } from "./services";

const root = resolve(import.meta.dirname, "..");
const BUILTINS = new Set(builtinModules);

/** A bundle: its package's directory (from the repository root, or absolute), entry and output. */
export type BundleSpec = { name: string; dir: string; entry: string; outfile: string };

/** What can be built: each service, and `migrate`. entry and outfile are relative to dir. */
export const BUNDLES: readonly BundleSpec[] = [
  ...SERVICES.map((s) => ({ name: s.name, dir: s.dir, entry: SERVICE_ENTRY, outfile: SERVICE_BUNDLE })),
  { name: "migrate", dir: MIGRATE_DIR, entry: "src/migrate-cli.ts", outfile: MIGRATE_BUNDLE },
];

/** The package a bare import names: `pg` for `pg/lib/x`, `@scope/name` for `@scope/name/y`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * Whether the package in `dir` may import `pkg` at run time in the image: listed under its
 * `dependencies` (devDependencies are pruned there) and installed in its own node_modules.
 * Stricter than Node, which would also look in the node_modules above, where the root's
 * development tools sit.
 */
export function declaredIn(pkg: string, dir: string): boolean {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  return Object.hasOwn(manifest.dependencies ?? {}, pkg) && existsSync(join(dir, "node_modules", pkg, "package.json"));
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

export type BuildResult = { name: string; outfile: string; ms: number };

/** Builds the named bundles (all by default); see bundle(). */
export async function buildBundles(only?: readonly string[]): Promise<BuildResult[]> {
  const unknown = (only ?? []).filter((n) => !BUNDLES.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown bundle(s): ${unknown.join(", ")}; known: ${BUNDLES.map((b) => b.name).join(", ")}`);
  return bundle(BUNDLES.filter((b) => !only || only.length === 0 || only.includes(b.name)));
}

/**
 * Builds `specs`. Checks every one before writing any, so a failure leaves the previous bundles
 * in place; throws on a build error or an npm import its package does not declare.
 */
export async function bundle(specs: readonly BundleSpec[]): Promise<BuildResult[]> {
  const built = await Promise.all(
    specs.map(async (spec) => {
      const started = performance.now();
      const dir = resolve(root, spec.dir);
      const outfile = join(dir, spec.outfile);
      const imports = new Set<string>();
      const { outputFiles } = await build({
        entryPoints: [join(dir, spec.entry)],
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
      const missing = [...imports].filter((pkg) => !declaredIn(pkg, dir)).sort();
      if (missing.length > 0) {
        throw new Error(`${spec.name}: the bundle imports ${missing.join(", ")}, which ${spec.dir}/package.json must list under dependencies`);
      }
      return { name: spec.name, outfile, outputFiles, ms: performance.now() - started };
    }),
  );
  // Written whole, then renamed over the old file: a service starting meanwhile (another test
  // file's system, a `pnpm start` in another terminal) reads the old bundle or the new one,
  // never half of one.
  for (const { outfile, outputFiles } of built) {
    mkdirSync(dirname(outfile), { recursive: true });
    for (const file of outputFiles) {
      const temp = `${file.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(temp, file.contents);
      renameSync(temp, file.path);
    }
  }
  return built.map(({ name, outfile, ms }) => ({ name, outfile, ms }));
}

/** Whether this module is the process's entry (`pnpm build`), not an import (start, tests). */
function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(import.meta.filename);
  } catch {
    return false; // argv[1] is not a file (node -e, a REPL)
  }
}

if (invokedDirectly()) {
  try {
    for (const r of await buildBundles(process.argv.slice(2))) {
      console.log(`built ${r.name}: ${r.outfile.slice(root.length + 1)} (${Math.round(r.ms)} ms)`);
    }
  } catch (err) {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
