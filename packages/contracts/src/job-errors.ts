/** BullMQ keeps a failed attempt's `err.message` as the job's failedReason, in Redis. */
export const MAX_JOB_ERROR_LENGTH = 200;

type ErrorLike = Error & { code?: unknown; query?: unknown; params?: unknown; severity?: unknown; errors?: unknown };

const isErrorLike = (v: unknown): v is ErrorLike => typeof v === "object" && v !== null && typeof (v as Error).message === "string";

/**
 * The error a job should fail with: the same kind (its name, which BullMQ's signal errors such
 * as UnrecoverableError are recognised by) with a short message that quotes no SQL or values.
 * A query failure reads as its cause (`57P01 terminating connection due to administrator
 * command`), not drizzle's `Failed query: <sql> params: <values>`, which ran to 8 KB per retry.
 */
export function toJobError(err: unknown): Error {
  const message = jobErrorMessage(err);
  if (isErrorLike(err) && err.message === message && !("query" in err)) return err;
  const short = new Error(message);
  short.name = isErrorLike(err) ? err.name : "Error";
  short.stack = `${short.name}: ${message}`;
  return short;
}

export function jobErrorMessage(err: unknown): string {
  return cap(describe(err, 0));
}

function describe(err: unknown, depth: number): string {
  if (!isErrorLike(err)) return String(err);
  // drizzle's wrapper: say what Postgres (or the socket) said instead.
  if (("query" in err || "params" in err) && depth < 5) return isErrorLike(err.cause) ? describe(err.cause, depth + 1) : "query failed";
  let message = err.message;
  // pg quotes the refused value: `invalid input syntax for type uuid: "<value>"`.
  if (typeof err.severity === "string") message = message.replace(/: ".*"$/s, ': "[redacted]"');
  // Node's AggregateError (every address of a host refused) has an empty message.
  if (!message && Array.isArray(err.errors) && err.errors.length > 0 && depth < 5) return describe(err.errors[0], depth + 1);
  const code = typeof err.code === "string" && !message.includes(err.code) ? `${err.code} ` : "";
  return `${code}${message}`;
}

function cap(text: string): string {
  return text.length <= MAX_JOB_ERROR_LENGTH ? text : `${text.slice(0, MAX_JOB_ERROR_LENGTH - 1)}…`;
}
