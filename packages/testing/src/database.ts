import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_PREFIX = "inboxerr_test_";

// Old enough that no live run can still own it: only databases of killed runs are dropped.
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

/** `inboxerr_test_<yyyymmddhhmmss UTC>_<random>`: the timestamp lets later runs spot leftovers. */
export function testDatabaseName(now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  return `${TEST_DATABASE_PREFIX}${stamp}_${randomBytes(4).toString("hex")}`;
}

/** The same server and credentials, another database. */
export function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` on a short-lived connection to the server of `serverUrl` (its own database). */
export async function withAdminClient<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectAdmin(serverUrl).catch(async (err: unknown) => {
    // The URL's own database may not exist yet (a fresh dev setup): any database will do.
    if ((err as { code?: string }).code !== "3D000") throw explain(serverUrl, err);
    return connectAdmin(withDatabase(serverUrl, "postgres")).catch((e: unknown) => {
      throw explain(serverUrl, e);
    });
  });
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function connectAdmin(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {}); // surfaced by the failing query instead
  await client.connect();
  return client;
}

/** Node's refused-connection AggregateError has an empty message; name the server instead. */
function explain(url: string, err: unknown): Error {
  const inner = err instanceof AggregateError ? err.errors : [err];
  const why = inner.map((e) => (e instanceof Error ? e.message || e.name : String(e))).join("; ");
  const { host } = new URL(url);
  return new Error(`cannot use Postgres at ${host} for test databases: ${why}`, { cause: err });
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function createDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`create database ${quoteIdent(name)}`);
}

/** FORCE ends connections a crashed test left open (Postgres 13+). */
export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
}

/** Drops test databases left behind by runs that were killed before their teardown. */
export async function dropStaleTestDatabases(client: pg.Client, now = Date.now()): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    "select datname from pg_database where starts_with(datname, $1)",
    [TEST_DATABASE_PREFIX],
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const m = /^inboxerr_test_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(datname);
    if (!m) continue;
    const created = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    if (now - created < STALE_AFTER_MS) continue;
    try {
      await dropDatabase(client, datname);
      dropped.push(datname);
    } catch {
      // Another run is dropping it at the same moment; either way it goes.
    }
  }
  return dropped;
}
