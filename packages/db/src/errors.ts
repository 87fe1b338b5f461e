/**
 * The one classifier of Postgres errors (and pg client errors), used by every service: the
 * api's problem answers, the workers' outage pause, and the conflict retries. No imports, so
 * packages that must not pull in pg (packages/http) import it as `@inboxerr/db/errors`.
 */

// Postgres cannot be reached or is going away: refused, reset or timed-out sockets, the server
// shutting down or starting up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
// cannot_connect_now), and the whole SQLSTATE class 08 (connection exception). Contention
// (deadlocks, statement timeouts) is not here: those clear with an ordinary retry.
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "57P01", "57P02", "57P03"]);
// What pg and pg-pool throw without a code: a connection lost mid-query, a pool that could not
// connect within connectionTimeoutMillis, a client-side query_timeout, a client already broken.
const UNREACHABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|connection error/i;

/**
 * Whether `err` (or an error in its cause chain, e.g. under drizzle's DrizzleQueryError) says
 * Postgres is unreachable, as opposed to a query that Postgres refused. Workers use it to back
 * off as a whole instead of failing every job.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown } | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (typeof e.code === "string" && (UNREACHABLE_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
    // Only on pg's own errors: drizzle's wrapper quotes the query's parameters (user text) in
    // its message, and a DatabaseError (`severity`) is a refusal with a code of its own.
    const quotes = "query" in e || "params" in e || "severity" in e;
    if (!quotes && typeof e.message === "string" && UNREACHABLE_MESSAGES.test(e.message)) return true;
    // Node's AggregateError for a host that resolves to several addresses (::1 and 127.0.0.1).
    if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnreachable(inner))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The first SQLSTATE in the cause chain (drizzle wraps pg's DatabaseError), if any. */
export function sqlState(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (typeof e.code === "string" && SQLSTATE.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Deadlock victim (40P01) or serialization failure (40001): nothing was written; run it again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = sqlState(err);
  return code === "40P01" || code === "40001";
}

/**
 * Postgres answered but is too busy to do this now: statement timeout (57014), lock not
 * available (55P03), or insufficient resources (class 53, e.g. too many connections).
 */
export function isDatabaseBusy(err: unknown): boolean {
  const code = sqlState(err);
  return code === "57014" || code === "55P03" || code?.startsWith("53") === true;
}

/** Data exception (class 22): Postgres refused a value (NUL in text, an out-of-range date...). */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith("22") === true;
}

/**
 * The statement's own data was refused: a data exception (class 22) or an integrity
 * constraint violation (class 23). Running it again cannot help; running the other items of
 * a batch without it can (the sender's status batcher does).
 */
export function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code?.startsWith("22") === true || code?.startsWith("23") === true;
}

/**
 * Runs `fn` again (up to `attempts` times in all) when Postgres picked it as a deadlock or
 * serialization victim; `fn` must be a whole transaction or statement, which then wrote nothing.
 */
export async function withConflictRetry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryableConflict(err)) throw err;
    }
  }
}
