import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema/index";

export type Schema = typeof schema;
/** The drizzle client; `db.$client` is its pg pool (for named statements, see named.ts). */
export type Db = NodePgDatabase<Schema> & { $client: pg.Pool };
/** The transaction handle drizzle passes to `db.transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Anything that can run a query: the pool-backed db or a transaction inside it. */
export type DbOrTx = Db | Tx;

export interface CreateDbOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Shows up in pg_stat_activity, so operators can tell services apart. */
  applicationName?: string;
  /** Server-side cap per statement; unset = the server default. */
  statementTimeoutMs?: number;
  /**
   * Client-side cap per query (pg `query_timeout`): the backstop when the server cannot cancel
   * (a network partition, a hung connection). Set it above statementTimeoutMs. Unset = none.
   */
  queryTimeoutMs?: number;
  /** How long to wait for a connection (default 3 s): a down Postgres fails fast, never hangs. */
  connectionTimeoutMillis?: number;
  /** Errors of idle pooled connections (e.g. Postgres restarted); default: ignored. */
  onError?: (err: Error) => void;
}

export interface DbHandle {
  db: Db;
  pool: pg.Pool;
  /** Ends the pool; safe to call more than once. */
  close: () => Promise<void>;
}

export function createDb(databaseUrl: string, opts: CreateDbOptions = {}): DbHandle {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 3_000,
    keepAlive: true,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    ...(opts.queryTimeoutMs ? { query_timeout: opts.queryTimeoutMs } : {}),
  });
  // Without a listener an idle client's error (server restart, network cut) crashes the
  // process; the pool discards that client and the next query reconnects.
  pool.on("error", opts.onError ?? (() => {}));
  // pg-pool listens on idle clients only. A client checked out (a transaction, a held advisory
  // lock) also emits 'error' when its socket dies (57P01 on a Postgres restart), and with no
  // listener that crashed the process. Its query in flight is rejected with the same error,
  // which the caller handles; the client is no longer queryable, so the pool discards it on
  // release. Nothing to do here but keep the event from being unhandled.
  pool.on("connect", (client) => client.on("error", ignoreCheckedOutClientError));
  const db: Db = drizzle({ client: pool, schema });
  let closing: Promise<void> | undefined;
  return { db, pool, close: () => (closing ??= pool.end()) };
}

function ignoreCheckedOutClientError(): void {}
