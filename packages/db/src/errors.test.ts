import { afterAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { testEnv } from "@inboxerr/testing";
import { createDb } from "./client";
import { isDatabaseBusy, isDatabaseUnreachable, isDataError, isDataException, isRetryableConflict, withConflictRetry } from "./errors";

const handle = createDb(testEnv().databaseUrl, { max: 2 });
afterAll(() => handle.close());

/** The error a real statement gets from Postgres, through drizzle's wrapper as services see it. */
async function errorOf(query: ReturnType<typeof sql>): Promise<unknown> {
  try {
    await handle.db.execute(query);
  } catch (err) {
    return err;
  }
  throw new Error("the statement succeeded");
}

describe("the Postgres error classifier", () => {
  it("reads real refusals through drizzle's wrapper: data exception, busy, neither unreachable", async () => {
    const data = await errorOf(sql`select 'not a date'::timestamptz`);
    expect(isDataException(data)).toBe(true);
    expect(isDataError(data)).toBe(true);
    // Class 23 (integrity constraint): a data error too, but not a data exception (the api maps those to 400).
    const constraint = await errorOf(sql.raw(`do $$ begin raise exception 'duplicate' using errcode = 'unique_violation'; end $$`));
    expect(isDataError(constraint)).toBe(true);
    expect(isDataException(constraint) || isRetryableConflict(constraint)).toBe(false);
    expect(isDatabaseUnreachable(data) || isDatabaseBusy(data) || isRetryableConflict(data)).toBe(false);

    const busy = await handle.db
      .transaction(async (tx) => {
        await tx.execute(sql`set local statement_timeout = 10`);
        await tx.execute(sql`select pg_sleep(1)`);
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(isDatabaseBusy(busy)).toBe(true);
    expect(isDataException(busy) || isDatabaseUnreachable(busy)).toBe(false);
  });

  it("calls a refused connection unreachable", async () => {
    const dead = createDb("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutMillis: 1_000 });
    try {
      const err = await dead.db.execute(sql`select 1`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isDatabaseUnreachable(err)).toBe(true);
      expect(isRetryableConflict(err) || isDatabaseBusy(err)).toBe(false);
    } finally {
      await dead.close();
    }
  });

  it("retries a deadlock victim and nothing else, at most the attempts given", async () => {
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    let calls = 0;
    await expect(
      withConflictRetry(async () => {
        calls += 1;
        if (calls < 3) throw new Error("wrapped", { cause: deadlock });
        return "done";
      }),
    ).resolves.toBe("done");
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      withConflictRetry(async () => {
        calls += 1;
        throw deadlock;
      }, 2),
    ).rejects.toBe(deadlock);
    expect(calls).toBe(2);

    calls = 0;
    const other = Object.assign(new Error("unique violation"), { code: "23505" });
    await expect(
      withConflictRetry(async () => {
        calls += 1;
        throw other;
      }),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });
});
