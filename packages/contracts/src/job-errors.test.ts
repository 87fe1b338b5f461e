import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { MAX_JOB_ERROR_LENGTH, toJobError } from "./job-errors";

// drizzle's DrizzleQueryError, as a worker meets it: the SQL and every value in its message.
function failedQuery(cause: Error): Error {
  const sqlText = `insert into messages (...) values ${"($1, $2), ".repeat(500)}`;
  return Object.assign(new Error(`Failed query: ${sqlText}\nparams: +14155552671,secret text`), { query: sqlText, params: ["+14155552671", "secret text"], cause });
}

describe("toJobError", () => {
  it("fails a job with what Postgres said, not drizzle's SQL and parameters, with a one-line stack", () => {
    const pgError = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01", severity: "FATAL" });
    const err = toJobError(failedQuery(pgError));
    expect(err.message).toBe("57P01 terminating connection due to administrator command");
    expect(err.stack).toBe("Error: 57P01 terminating connection due to administrator command");
  });

  it("caps a long message and keeps the error's name, which BullMQ's signal errors are known by", () => {
    const err = toJobError(new UnrecoverableError(`gateway refused it: ${"x".repeat(8_000)}`));
    expect(err.name).toBe("UnrecoverableError");
    expect(err.message.length).toBe(MAX_JOB_ERROR_LENGTH);
    expect(err.message.startsWith("gateway refused it: xxx")).toBe(true);
  });

  it("hides the value pg quotes in a refusal and names a refused connection by its code", () => {
    const refusal = Object.assign(new Error('invalid input syntax for type uuid: "not-a-uuid"'), { code: "22P02", severity: "ERROR" });
    expect(toJobError(failedQuery(refusal)).message).toBe('22P02 invalid input syntax for type uuid: "[redacted]"');
    const refused = new AggregateError([Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })], "");
    expect(toJobError(failedQuery(refused)).message).toBe("connect ECONNREFUSED 127.0.0.1:5432");
  });

  it("passes a short error through as it is", () => {
    const err = new Error("timeout after 5000 ms");
    expect(toJobError(err)).toBe(err);
  });
});
