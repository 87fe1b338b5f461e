import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "./client";

const url = process.env.DATABASE_URL!;

describe("createDb", () => {
  it("fails fast, with the driver's error, when Postgres is unreachable", async () => {
    const { db, close } = createDb("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutMillis: 500 });
    const started = Date.now();
    await expect(db.execute(sql`select 1`)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    await close();
  });

  it("names its connections and enforces the statement timeout", async () => {
    const { db, close } = createDb(url, { max: 1, applicationName: "inboxerr-client-test", statementTimeoutMs: 100 });
    const { rows } = await db.execute<{ name: string }>(sql`select current_setting('application_name') as name`);
    expect(rows[0]!.name).toBe("inboxerr-client-test");
    // 57014 query_canceled; drizzle wraps driver errors, keeping the original as `cause`.
    await expect(db.execute(sql`select pg_sleep(2)`)).rejects.toMatchObject({ cause: { code: "57014" } });
    await close();
  });

  it("gives up on a query client-side after queryTimeoutMs, and the pool stays usable", async () => {
    const { db, close } = createDb(url, { max: 1, queryTimeoutMs: 200 });
    const started = Date.now();
    // No statement timeout here: only the client-side cap can end it.
    await expect(db.execute(sql`select pg_sleep(3)`)).rejects.toMatchObject({ cause: { message: "Query read timeout" } });
    expect(Date.now() - started).toBeLessThan(2_000);
    const { rows } = await db.execute<{ one: number }>(sql`select 1 as one`);
    expect(rows[0]!.one).toBe(1);
    await close();
  });

  it("can be closed twice", async () => {
    const { close } = createDb(url);
    await close();
    await expect(close()).resolves.toBeUndefined();
  });
});
