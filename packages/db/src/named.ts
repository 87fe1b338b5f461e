import type pg from "pg";
import { isDatabaseUnreachable } from "./errors";

/** What runs a named statement: the pool (any free connection) or a checked-out client (a transaction). */
type Queryable = pg.Pool | pg.PoolClient;
/** The client a transaction runs on (withTransaction hands it to its callback). */
export type TxClient = pg.PoolClient;
/** A Queryable, or a drizzle Db, whose public `$client` is its pool. */
export type Executor = Queryable | { $client: pg.Pool };

export interface NamedStatement<TRow extends pg.QueryResultRow> {
  readonly name: string;
  readonly text: string;
  /** Runs the statement with `values` for its $1…$n. */
  run(on: Executor, values: readonly unknown[]): Promise<pg.QueryResult<TRow>>;
}

// Postgres refuses a name reused with other text on a connection; this catches it at import.
const texts = new Map<string, string>();

/**
 * A hot statement whose text never changes (only its $n parameters do), run through pg's
 * public named-query API (`query({ name, text, values })`): each pooled connection parses and
 * plans it once instead of on every call. For the sender's status batches that was most of
 * Postgres's work: the transition CTE took ~3.4 ms to parse and plan and ~0.6 ms to run (40
 * items, 2-core machine).
 *
 * Declare it once, at module level. `name` must be unique across the process; a second
 * declaration of a name with other text throws. Name result columns, never `*`: Postgres
 * refuses to run a prepared statement whose result columns changed ("cached plan must not
 * change result type"), so a migration adding a column would break running services.
 */
export function namedStatement<TRow extends pg.QueryResultRow = pg.QueryResultRow>(name: string, text: string): NamedStatement<TRow> {
  const known = texts.get(name);
  if (known !== undefined && known !== text) throw new Error(`named statement ${name} declared twice with different text`);
  texts.set(name, text);
  return {
    name,
    text,
    run: (on, values) => queryableOf(on).query<TRow>({ name, text, values: [...values] }),
  };
}

function queryableOf(on: Executor): Queryable {
  return "$client" in on ? on.$client : on;
}

/**
 * Runs `fn` in a transaction on one client of `pool` (a drizzle Db is accepted for its pool):
 * BEGIN, then COMMIT when `fn` resolves, ROLLBACK when it throws. A client whose connection
 * broke (or whose ROLLBACK failed) is released with the error, so the pool destroys it
 * instead of handing a dead or mid-transaction connection to the next caller. Not retried
 * here: wrap it in withConflictRetry, the one deadlock retry.
 */
export async function withTransaction<T>(pool: pg.Pool | { $client: pg.Pool }, fn: (client: TxClient) => Promise<T>): Promise<T> {
  const client = await ("$client" in pool ? pool.$client : pool).connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    client.release();
    return result;
  } catch (err) {
    client.release(await rollback(client, err));
    throw err;
  }
}

/** Rolls back; what to release the client with: nothing if it is still good, else the error. */
async function rollback(client: pg.PoolClient, err: unknown): Promise<Error | undefined> {
  if (isDatabaseUnreachable(err)) return err instanceof Error ? err : new Error(String(err));
  try {
    await client.query("rollback");
    return undefined;
  } catch (rollbackErr) {
    return rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
  }
}
