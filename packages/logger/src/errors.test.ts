import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, users } from "@inboxerr/db";
import { testDatabaseUrl, uniqueSuffix } from "@inboxerr/testing";
import { createLogger } from "./logger";

const { db, close } = createDb(testDatabaseUrl(), { max: 1 });
afterAll(close);

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

/** A real failed insert: Postgres refuses the NUL, drizzle wraps it with the SQL and every value. */
async function failedInsert(values: { email: string; passwordHash: string; name: string }): Promise<Error> {
  try {
    await db.insert(users).values(values);
  } catch (err) {
    return err as Error;
  }
  throw new Error("the insert unexpectedly succeeded");
}

describe("error serializer", () => {
  it("logs a failed query's SQLSTATE and stack but none of its SQL or parameter values", async () => {
    const secret = { email: `leak-${uniqueSuffix()}@test.inboxerr.dev`, passwordHash: `scrypt$${uniqueSuffix()}`, name: "Ada\u0000Lovelace" };
    const err = await failedInsert(secret);
    expect(err.message).toContain(secret.passwordHash); // what a naive serializer would write

    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    log.error({ err }, "unhandled error");
    log.warn({ error: err }, "again");
    log.warn({ failure: err }, "under a key with no serializer: redaction still drops query and params");

    const out = lines.join("");
    for (const value of [secret.email, secret.passwordHash, "Lovelace", "insert into"]) expect(out).not.toContain(value);
    const line = JSON.parse(lines[0]!) as { err: Record<string, any> };
    expect(line.err).toMatchObject({
      message: "Failed query (SQL and parameters not logged)",
      cause: { code: "22021", message: expect.stringContaining("invalid byte sequence") },
    });
    expect(line.err.stack).toMatch(/\n\s+at /);
  });

  it("cuts a failed query's text logged as a plain string (err.message) at its SQL", async () => {
    const secret = { email: `leak-${uniqueSuffix()}@test.inboxerr.dev`, passwordHash: `scrypt$${uniqueSuffix()}`, name: "Ada\u0000Lovelace" };
    const err = await failedInsert(secret);
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    log.warn({ jobId: "j1", reason: err.message }, "send job will retry");
    log.warn({ err: err.message }, "message-events job failed");

    const out = lines.join("");
    for (const value of [secret.email, secret.passwordHash, "Lovelace", "insert into", "params"]) expect(out).not.toContain(value);
    expect(JSON.parse(lines[0]!)).toMatchObject({ jobId: "j1", reason: "Failed query (SQL and parameters not logged)" });
    expect(JSON.parse(lines[1]!)).toMatchObject({ err: "Failed query (SQL and parameters not logged)" });
  });

  it("logs why a query failed when Postgres is unreachable (the cause's code), not the query", async () => {
    const down = createDb("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutMillis: 500 });
    const err = await down.db
      .insert(users)
      .values({ email: "down@test.inboxerr.dev", passwordHash: "scrypt$never-logged", name: "x" })
      .then(() => null, (e: unknown) => e);
    await down.close();
    const { lines, destination } = capture();
    createLogger({ service: "t", destination }).warn({ err }, "database unreachable");
    expect(lines.join("")).not.toContain("never-logged");
    const line = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({ message: "Failed query (SQL and parameters not logged)", cause: { code: "ECONNREFUSED" } });
  });

  it("keeps pino's standard serialization for other errors, causes included", () => {
    const { lines, destination } = capture();
    createLogger({ service: "t", destination }).error({ err: new Error("outer", { cause: new Error("inner") }) }, "failed");
    const line = JSON.parse(lines[0]!) as { err: { type: string; message: string; stack: string } };
    expect(line.err).toMatchObject({ type: "Error", message: "outer: inner" });
    expect(line.err.stack).toContain("caused by");
  });
});
