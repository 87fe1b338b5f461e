import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Loads the workspace root's `.env` (found by walking up to pnpm-workspace.yaml) into
 * process.env, so `pnpm --filter ./services/api start` or `pnpm admin:create` see the same
 * settings as `pnpm start`. Variables already set win; tests (NODE_ENV=test) skip it so a
 * developer's .env cannot change what a test sees. Returns the file it loaded, if any.
 */
export function loadRootDotEnv(from = process.cwd()): string | null {
  if (process.env.NODE_ENV === "test") return null;
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) {
      const file = join(dir, ".env");
      if (!existsSync(file)) return null;
      process.loadEnvFile(file);
      return file;
    }
    if (dirname(dir) === dir) return null;
  }
}
