import { afterAll, describe, expect, it } from "vitest";
import { isDatabaseUnreachable } from "./errors";
import { namedStatement, withTransaction } from "./named";
import { connectTestDb } from "./test-support";

const { db, pool, close } = connectTestDb(2);
afterAll(close);

const ADD = namedStatement<{ n: number }>("inboxerr_named_test_add", "select $1::int + 1 as n");
const prepared = async () =>
  (await pool.query<{ name: string }>("select name from pg_prepared_statements where name like 'inboxerr_named_test%'")).rows.map((r) => r.name);

describe("namedStatement", () => {
  it("prepares once per connection, on the pool, a drizzle Db and a transaction's client", async () => {
    const client = await pool.connect();
    try {
      expect((await client.query("select name from pg_prepared_statements")).rows).toEqual([]);
      for (const n of [1, 2]) expect((await ADD.run(client, [n])).rows).toEqual([{ n: n + 1 }]);
      expect((await client.query("select name from pg_prepared_statements")).rows).toEqual([{ name: "inboxerr_named_test_add" }]);
    } finally {
      client.release();
    }
    expect((await ADD.run(db, [4])).rows).toEqual([{ n: 5 }]);
    expect((await ADD.run(pool, [5])).rows).toEqual([{ n: 6 }]);
    expect(await withTransaction(db, async (tx) => (await ADD.run(tx, [6])).rows)).toEqual([{ n: 7 }]);
    expect(await prepared()).toEqual(expect.arrayContaining(["inboxerr_named_test_add"]));
  });

  it("refuses a name declared again with other text, at declaration", () => {
    expect(() => namedStatement("inboxerr_named_test_add", "select 2")).toThrow(/declared twice/);
    expect(namedStatement("inboxerr_named_test_add", ADD.text).name).toBe(ADD.name);
  });
});

describe("withTransaction", () => {
  const count = async (tag: string) =>
    Number((await pool.query<{ n: string }>("select count(*) as n from named_test where tag = $1", [tag])).rows[0]!.n);

  it("commits what fn did when it resolves, and rolls all of it back when it throws", async () => {
    await pool.query("create table if not exists named_test (tag text)");
    expect(await withTransaction(pool, async (c) => (await c.query("insert into named_test values ('kept')")).rowCount)).toBe(1);
    await expect(
      withTransaction(pool, async (c) => {
        await c.query("insert into named_test values ('undone')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await count("kept")).toBe(1);
    expect(await count("undone")).toBe(0);
    // Both clients went back to the pool in a clean state: no transaction left open.
    const states = await Promise.all([0, 1].map(() => withTransaction(pool, async (c) => (await c.query("select 1 as one")).rows[0])));
    expect(states).toEqual([{ one: 1 }, { one: 1 }]);
  });

  it("destroys a client whose connection broke instead of returning it to the pool", async () => {
    const err = await withTransaction(pool, async (c) => {
      const { rows } = await c.query<{ pid: number }>("select pg_backend_pid() as pid");
      await pool.query("select pg_terminate_backend($1)", [rows[0]!.pid]);
      await c.query("select 1");
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isDatabaseUnreachable(err)).toBe(true);
    // The dead client was destroyed, not kept: every client the pool still holds answers.
    expect(pool.totalCount).toBeLessThanOrEqual(1);
    for (let i = 0; i < 3; i++) expect((await pool.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });
});
