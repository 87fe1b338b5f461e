import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Loads the workspace root's `.env` (found by walking up to pnpm-workspace.yaml) into
 * process.env, so `pnpm --filter ./services/api start` or `pnpm admin:create` see the same
 * settings as `pnpm start`. Variables already set win; tests (NODE_ENV=test) skip it so a
 * developer's .env cannot change what a test sees. Without a `.env`, outside production, the
 * development defaults of `.env.example` are loaded instead, as `pnpm start` does, and a line
 * says so. Returns the file it loaded, if any.
 */
export function loadRootDotEnv(from = process.cwd()): string | null {
  if (process.env.NODE_ENV === "test") return null;
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) {
      const file = join(dir, ".env");
      if (existsSync(file)) {
        process.loadEnvFile(file);
        return file;
      }
      const example = join(dir, ".env.example");
      if (process.env.NODE_ENV === "production" || !existsSync(example)) return null;
      process.loadEnvFile(example);
      // Once per process tree: `pnpm start` says it for every service it starts.
      if (!process.env[DEFAULTS_NOTED]) process.stderr.write(`${DEFAULTS_NOTICE}\n`);
      process.env[DEFAULTS_NOTED] = "1";
      return example;
    }
    if (dirname(dir) === dir) return null;
  }
}

/** Set once the "running on .env.example" line was written, so child processes stay quiet. */
export const DEFAULTS_NOTED = "INBOXERR_DEFAULTS_NOTED";
export const DEFAULTS_NOTICE = "no .env: running on the development defaults of .env.example (cp .env.example .env to change them)";
