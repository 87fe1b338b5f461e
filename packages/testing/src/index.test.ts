import { createDb } from "@inboxerr/db";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import {
  createDatabase,
  createTestUser,
  deleteKeysByPrefix,
  dropStaleTestDatabases,
  insertMessages,
  testDatabaseName,
  testDatabaseUrl,
  testEnv,
  uniqueSuffix,
  waitFor,
  withAdminClient,
} from "./index";

describe("global setup", () => {
  it("hands every worker its own migrated database, queue prefix and test env", () => {
    const env = testEnv();
    expect(new URL(env.databaseUrl).pathname).toMatch(/^\/inboxerr_test_\d{14}_[0-9a-f]{8}$/);
    expect(env.queuePrefix).toMatch(/^\{inboxerr-test-[0-9a-f]{8}\}$/);
    expect(env.redisUrl).toBeTruthy();
    expect(process.env.NODE_ENV).toBe("test");
    expect(process.env.LOG_LEVEL).toBeTruthy();
  });

  it("drops test databases older than a few hours and keeps recent ones", async () => {
    const stale = testDatabaseName(new Date(Date.now() - 24 * 3600_000));
    const fresh = testDatabaseName();
    const names = await withAdminClient(testDatabaseUrl(), async (admin) => {
      await createDatabase(admin, stale);
      await createDatabase(admin, fresh);
      await dropStaleTestDatabases(admin);
      const { rows } = await admin.query<{ datname: string }>(
        "select datname from pg_database where datname = any($1)",
        [[stale, fresh]],
      );
      await admin.query(`drop database "${fresh}" with (force)`);
      return rows.map((r) => r.datname);
    });
    expect(names).toEqual([fresh]);
  });
});

describe("waitFor", () => {
  it("resolves with the first truthy value", async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? { calls } : null), { intervalMs: 1 })).resolves.toEqual({ calls: 3 });
  });

  it("treats a throw as not yet and reports the message and last error on timeout", async () => {
    const failing = waitFor(
      () => {
        throw new Error("row missing");
      },
      { timeoutMs: 50, intervalMs: 5, message: "the message row" },
    );
    await expect(failing).rejects.toThrow(/timed out after 50 ms: the message row \(last error: row missing\)/);
  });
});

describe("fixtures", () => {
  const { db, close } = createDb(testDatabaseUrl(), { max: 2 });
  afterAll(close);

  it("creates users with unique lowercase emails", async () => {
    const [a, b] = await Promise.all([createTestUser(db), createTestUser(db, { name: "B" })]);
    expect(a.email).not.toBe(b.email);
    expect(a.email).toBe(a.email.toLowerCase());
    expect(b.name).toBe("B");
  });

  it("inserts queued messages for one user, beyond a single INSERT's chunk", async () => {
    const user = await createTestUser(db);
    const rows = await insertMessages(db, user.id, 1_500, { priority: 5 });
    expect(rows).toHaveLength(1_500);
    const stored = await db.query.messages.findMany({ where: (m, { eq }) => eq(m.userId, user.id) });
    expect(stored).toHaveLength(1_500);
    expect(stored.every((m) => m.status === "queued" && m.priority === 5 && m.queuedAt)).toBe(true);
  });
});

describe("deleteKeysByPrefix", () => {
  it("removes the keys under the prefix and nothing else", async () => {
    const { redisUrl, queuePrefix } = testEnv();
    const [mine, other] = [`${queuePrefix}:${uniqueSuffix()}`, `${queuePrefix}:${uniqueSuffix()}`];
    const redis = new Redis(redisUrl);
    afterAll(() => redis.quit());
    await redis.mset(`${mine}:a`, "1", `${mine}:b`, "2", `${other}:c`, "3");
    expect(await deleteKeysByPrefix(redisUrl, mine)).toBe(2);
    expect(await redis.exists(`${mine}:a`, `${mine}:b`, `${other}:c`)).toBe(1);
    await redis.del(`${other}:c`);
  });
});
