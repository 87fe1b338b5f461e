import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresServer, waitFor, type PostgresServer } from "@inboxerr/testing";
import { createDb, type DbHandle } from "./client";
import { isDatabaseUnreachable } from "./errors";

// A Postgres of the test's own: it is restarted and stopped here, never the shared one.
let server: PostgresServer;
let handle: DbHandle;
const idleErrors: Error[] = [];

beforeAll(async () => {
  server = await startPostgresServer();
  handle = createDb(server.url, { max: 4, connectionTimeoutMillis: 1_000, onError: (err) => idleErrors.push(err) });
});
afterAll(async () => {
  await handle?.close();
  await server?.destroy();
});

const answers = async () => (await handle.db.execute<{ one: number }>(sql`select 1 as one`)).rows[0]?.one === 1;

describe("createDb across a Postgres restart", () => {
  it("rejects the query of a transaction cut by the restart (57P01) instead of crashing, then reconnects", async () => {
    const outcome = handle.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      // The client is checked out and idle inside the transaction when the server goes away:
      // the moment that used to raise an unhandled 'error' event.
      await server.restart();
      await tx.execute(sql`select 1`);
    });
    const err = await outcome.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).not.toBeNull();
    expect(isDatabaseUnreachable(err)).toBe(true);
    await waitFor(answers, { timeoutMs: 10_000, message: "the pool reconnects after the restart" });
  });

  it("survives the restart with a raw client held (an advisory lock's), which release(err) discards", async () => {
    const client = await handle.pool.connect();
    await client.query("select pg_try_advisory_lock(42)");
    const before = handle.pool.totalCount;
    await server.restart();
    const err = await client.query("select 1").then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(isDatabaseUnreachable(err)).toBe(true);
    client.release(err ?? true);
    expect(handle.pool.totalCount).toBeLessThan(before);
    await waitFor(answers, { timeoutMs: 10_000, message: "the pool reconnects after the restart" });
  });

  it("fails fast while Postgres is stopped, with an error classified as unreachable, and answers once it is back", async () => {
    await server.stop();
    const started = Date.now();
    const err = await handle.db.execute(sql`select 1`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isDatabaseUnreachable(err)).toBe(true);
    await server.start();
    await waitFor(answers, { timeoutMs: 10_000, message: "the pool reconnects after start" });
  });
});

describe("isDatabaseUnreachable", () => {
  it("does not take a refused query, or user text quoted in drizzle's message, for an outage", () => {
    const pgRefusal = Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505", severity: "ERROR" });
    expect(isDatabaseUnreachable(pgRefusal)).toBe(false);
    const wrapped = Object.assign(new Error("Failed query: insert ... params: Connection terminated"), { query: "insert ...", params: [], cause: pgRefusal });
    expect(isDatabaseUnreachable(wrapped)).toBe(false);
    expect(isDatabaseUnreachable(new Error("x", { cause: Object.assign(new Error("terminating connection"), { code: "57P01" }) }))).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error("server closed"), { code: "08006" }))).toBe(true);
  });
});
