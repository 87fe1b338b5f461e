import { pino } from "pino";

type ErrorLike = Error & { [k: string]: unknown };

const isErrorLike = (v: unknown): v is ErrorLike => typeof v === "object" && v !== null && typeof (v as Error).message === "string";

// drizzle's DrizzleQueryError carries the SQL and every bound value (password hashes, message
// text, phone numbers) in `query`, `params`, its message and so its stack.
const carriesQuery = (e: ErrorLike) => "query" in e || "params" in e;
// pg's DatabaseError: `detail` ("Key (email)=(...) already exists") and `where` ("portal
// parameter $1 = '...'") can quote values; only these fields are safe to keep.
const isPgError = (e: ErrorLike) => typeof e.severity === "string" && typeof e.code === "string";
const PG_FIELDS = ["code", "severity", "constraint", "table", "column", "schema", "routine"] as const;

const MAX_DEPTH = 5;

const FAILED_QUERY = "Failed query:";
const QUERY_NOT_LOGGED = "Failed query (SQL and parameters not logged)";

/**
 * A failed query's text as drizzle words it (`Failed query: <sql>\nparams: <values>`) cut at
 * its SQL: what is left when code logs `err.message` instead of `err` (a BullMQ failedReason,
 * a `reason` field), which the redact paths cannot see into.
 */
export function redactQueryText(text: string): string {
  const at = text.indexOf(FAILED_QUERY);
  return at < 0 ? text : `${text.slice(0, at)}${QUERY_NOT_LOGGED}`;
}

/**
 * The `err`/`error` serializer: pino's standard one, except for database errors anywhere in
 * the cause chain, which are reduced to their name, SQLSTATE, safe pg fields, a message without
 * the SQL or values, and the stack frames (not the message line that carries the values).
 */
export function serializeError(err: unknown): unknown {
  if (typeof err === "string") return redactQueryText(err);
  if (!isErrorLike(err)) return err;
  for (let e: unknown = err, depth = 0; isErrorLike(e) && depth < MAX_DEPTH; e = e.cause, depth++) {
    if (carriesQuery(e) || isPgError(e)) return safeError(err, 0);
  }
  return pino.stdSerializers.err(err);
}

function safeError(err: ErrorLike, depth: number): Record<string, unknown> {
  const type = err.constructor?.name && err.constructor.name !== "Object" ? err.constructor.name : err.name;
  const message = safeMessage(err);
  const out: Record<string, unknown> = { type, message, stack: `${type}: ${message}\n${frames(err)}`.trimEnd() };
  if (isPgError(err)) {
    for (const field of PG_FIELDS) if (typeof err[field] === "string") out[field] = err[field];
  } else if (typeof err.code === "string" && /^[A-Z0-9_]{1,40}$/.test(err.code)) {
    out.code = err.code; // a system error's (ECONNREFUSED): why the query never ran
  }
  if (isErrorLike(err.cause) && depth < MAX_DEPTH) out.cause = safeError(err.cause, depth + 1);
  return out;
}

function safeMessage(err: ErrorLike): string {
  if (carriesQuery(err)) return QUERY_NOT_LOGGED;
  // `invalid input syntax for type uuid: "<value>"`, `date/time field value out of range: "<value>"`
  if (isPgError(err)) return err.message.replace(/: ".*"$/s, ': "[redacted]"');
  return err.message;
}

/** The stack's `at ...` lines only: the first line repeats the message. */
function frames(err: ErrorLike): string {
  const stack = typeof err.stack === "string" ? err.stack : "";
  const at = err.message ? stack.indexOf(err.message) : -1;
  const rest = at >= 0 ? stack.slice(at + err.message.length) : stack;
  return rest
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .join("\n");
}
