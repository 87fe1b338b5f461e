import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

/** The server the test harness creates its per-run databases on (CI's `test` database). */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/**
 * Resolved from this file, so it works from any working directory: from `src/` (tests,
 * `pnpm db:migrate`) and from the `dist/migrate-cli.js` bundle alike. Imported as
 * `@inboxerr/db/migrate`, never through the package's main entry, so no service bundle has it.
 */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

// Arbitrary constant shared by every migrator: the advisory lock that serialises them.
const MIGRATION_LOCK_KEY = 7_218_404_511;

export interface MigrationResult {
  /** Migrations applied by this call (0 when the database was up to date). */
  applied: number;
  /** Migrations recorded in the database afterwards. */
  total: number;
}

/**
 * Applies the committed migrations in `drizzle/`. Idempotent, and safe to run from several
 * processes at once: they queue on a Postgres advisory lock, and the later ones find nothing
 * left to do. Uses one connection so the lock and the migration share a session.
 */
export async function runMigrations(databaseUrl: string): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {}); // surfaced by the failing query instead
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      const before = await countApplied(client);
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
      const total = await countApplied(client);
      return { applied: total - before, total };
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  // Two queries: a missing table fails at parse time even inside an untaken CASE branch.
  const exists = await client.query("select to_regclass('drizzle.__drizzle_migrations') is not null as ok");
  if (!exists.rows[0]?.ok) return 0;
  const { rows } = await client.query<{ n: number }>("select count(*)::int as n from drizzle.__drizzle_migrations");
  return rows[0]?.n ?? 0;
}

/** The URL without its password, for log lines. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable DATABASE_URL>";
  }
}

/** Node reports a refused connection to several addresses as an AggregateError with no message. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(describeError).join("; ");
  }
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return err.message || code || err.name;
  }
  return String(err);
}

/**
 * Creates the database named by `databaseUrl` when it does not exist yet (a fresh install's
 * first `pnpm start`), connecting to the server's `postgres` maintenance database to do it.
 * Returns true when it created one.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const probe = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000" || !name) throw err; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => {});
  }
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`create database "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "42P04") return false; // created concurrently
    throw err;
  } finally {
    await client.end();
  }
}
