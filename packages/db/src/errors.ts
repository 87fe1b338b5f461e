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
