/**
 * `pnpm db:migrate` (and the compose `migrate` service): creates the database if needed, then
 * applies the committed migrations. An entry point of its own, so that importing
 * `@inboxerr/db` never runs it: inside a bundled service, "am I the main module" would be true.
 */
import { loadRootDotEnv, parseConfig } from "@inboxerr/config";
import { describeError, ensureDatabase, redactUrl, runMigrations } from "./migrate";

// The same default as every service (packages/config), so `pnpm start` migrates what it runs.
loadRootDotEnv();
const url = parseConfig(["DATABASE_URL"]).DATABASE_URL;
try {
  if (await ensureDatabase(url)) console.log(`db migrate: created database ${redactUrl(url)}`);
  const { applied, total } = await runMigrations(url);
  const what = applied === 0 ? "already up to date" : `applied ${applied} migration(s)`;
  console.log(`db migrate: ${redactUrl(url)}: ${what}; ${total} applied in total`);
  process.exitCode = 0;
} catch (err) {
  console.error(`db migrate failed for ${redactUrl(url)}: ${describeError(err)}`);
  process.exitCode = 1;
}
