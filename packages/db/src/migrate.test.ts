import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "./client";
import { runMigrations } from "./migrate";
import { insertMessageRows, insertUser, randomSuffix } from "./test-support";
import { transition } from "./status-writer/transition";

// Scratch databases on the run's server, named like the run's own so that a killed run's
// leftovers are swept by the global setup's stale-database cleanup.
const serverUrl = process.env.DATABASE_URL!;
const created: string[] = [];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function scratchDatabase(): Promise<string> {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const name = `inboxerr_test_${stamp}_mig${randomSuffix()}`;
  await admin((c) => c.query(`create database "${name}"`));
  created.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const tablesOf = (url: string) =>
  (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ t: string }>(
        "select table_name as t from information_schema.tables where table_schema = 'public' order by 1",
      );
      return rows.map((r) => r.t);
    } finally {
      await client.end();
    }
  })();

beforeAll(() => expect(serverUrl).toMatch(/\/inboxerr_test_/));
afterAll(() => admin(async (c) => {
  for (const name of created) await c.query(`drop database if exists "${name}" with (force)`);
}));

describe("runMigrations", () => {
  it("builds the schema in an empty database, then re-applies as a no-op", async () => {
    const url = await scratchDatabase();
    const first = await runMigrations(url);
    expect(first.applied).toBeGreaterThan(0);
    expect(first.total).toBe(first.applied);
    expect(await tablesOf(url)).toEqual([
      "api_keys", "batches", "gateway_accounts", "gateway_webhook_events", "idempotency_keys", "inbound_messages",
      "message_attempts", "message_events", "messages", "metrics_applied_events", "metrics_buckets", "metrics_failure_reasons",
      "metrics_reconcile_state", "metrics_sender_buckets", "sender_events", "senders", "users",
      "webhook_deliveries", "webhook_delivery_attempts", "webhook_endpoints",
    ]);
    expect(await runMigrations(url)).toEqual({ applied: 0, total: first.total });
  });

  it("serialises concurrent migrators so exactly one applies each migration", async () => {
    const url = await scratchDatabase();
    const results = await Promise.all([runMigrations(url), runMigrations(url), runMigrations(url)]);
    const total = results[0]!.total;
    expect(results.map((r) => r.total)).toEqual([total, total, total]);
    expect(results.reduce((sum, r) => sum + r.applied, 0)).toBe(total);
  });

  it("fails with a readable error when Postgres is unreachable", async () => {
    await expect(runMigrations("postgres://postgres@127.0.0.1:1/none")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("a migration while services run", () => {
  it("adding a message_events column does not break transitions already prepared on open connections", async () => {
    const url = await scratchDatabase();
    await runMigrations(url);
    const { db, close } = createDb(url, { max: 1 });
    try {
      const user = await insertUser(db);
      const [a, b] = await insertMessageRows(db, user.id, 2);
      expect(await transition(db, { messageId: a!.id, to: "sending" })).not.toBeNull();
      // A later release's migration, applied while this connection holds the prepared statement.
      await db.execute(sql`alter table message_events add column note text`);
      const event = await transition(db, { messageId: b!.id, to: "sending" });
      expect(event).toMatchObject({ messageId: b!.id, status: "sending" });
    } finally {
      await close();
    }
  });
});
