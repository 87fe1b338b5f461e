/**
 * The due loop at rest (issue 17's leftover): with thousands of active endpoints and nothing
 * due, an idle dispatcher asks Postgres one cheap question per tick (the due probe, through the
 * partial index on next_attempt_at) instead of a claim that probes every active endpoint, and
 * still picks up replays, retries coming due and lapsed leases. Real Postgres, Redis and HTTP.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "@inboxerr/contracts";
import { createDb, parseSecretsKey, sendAgain, webhookDeliveries, webhookEndpoints, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createWebhookDispatcher, type WebhookDispatcher } from "./app";
import { CLAIM, DUE_PROBE, type DeliverySettings } from "./delivery/engine";
import { createEndpoint, startReceiver, type Receiver } from "./testing/receiver";

const env = testEnv();
const prefix = `${env.queuePrefix}:wdi-${uniqueSuffix()}`;
const secretsKey = parseSecretsKey(randomBytes(32).toString("base64"));
const logger = createLogger({ service: "webhook-dispatcher-idle", level: "silent" });
const settings: DeliverySettings = {
  timeoutMs: 3_000,
  schedule: [0, 3600],
  concurrency: 20,
  endpointConcurrency: 5,
  disableAfterDays: 5,
  policy: { allowInsecure: true, allowPrivate: true },
  secretsKey,
};
const IDLE_ENDPOINTS = 2_000;

let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let consumer: Redis;
let dispatcher: WebhookDispatcher | undefined;
const receivers: Receiver[] = [];

function startDispatcher(sweepIntervalMs: number): WebhookDispatcher {
  dispatcher = createWebhookDispatcher({
    db: handle.db,
    connection: consumer,
    prefix,
    logger,
    delivery: { ...settings, sweepIntervalMs },
    endpointCacheMs: 200,
  });
  dispatcher.start();
  return dispatcher;
}

async function explain(text: string, values: unknown[]): Promise<Record<string, unknown>> {
  const client = await handle.pool.connect();
  try {
    await client.query("begin");
    const { rows } = await client.query<{ "QUERY PLAN": { Plan: Record<string, unknown> }[] }>(
      `explain (analyze, buffers, format json) ${text}`,
      values,
    );
    return rows[0]!["QUERY PLAN"][0]!.Plan;
  } finally {
    await client.query("rollback");
    client.release();
  }
}

function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan["Plans"] as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

const buffers = (plan: Record<string, unknown>) => Number(plan["Shared Hit Blocks"] ?? 0) + Number(plan["Shared Read Blocks"] ?? 0);

async function delivery(endpointId: string, userId: string, status: "pending" | "failed" | "exhausted", fields: Record<string, unknown> = {}) {
  const [row] = await handle.db
    .insert(webhookDeliveries)
    .values({
      endpointId,
      userId,
      eventId: randomUUID(),
      type: "webhook.test",
      payload: { type: "webhook.test", timestamp: new Date().toISOString(), data: {} },
      status,
      ...fields,
    })
    .returning();
  return row!;
}

beforeAll(async () => {
  priv = await createPrivateDatabase();
  handle = createDb(priv.url, { max: 6 });
  consumer = createRedis(env.redisUrl, "worker");
  const user = await createTestUser(handle.db);
  // Endpoints with nothing due; their secrets are never opened.
  await handle.db.execute(sql`
    insert into webhook_endpoints (user_id, url, secret)
    select ${user.id}::uuid, 'http://127.0.0.1:9/idle-' || g, 'unused' from generate_series(1, ${IDLE_ENDPOINTS}) g`);
  const [busy] = await handle.db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).limit(1);
  // A dead endpoint's retries, due in an hour and later.
  await handle.db.execute(sql`
    insert into webhook_deliveries (endpoint_id, user_id, event_id, type, payload, status, attempts, next_attempt_at)
    select ${busy!.id}::uuid, ${user.id}::uuid, gen_random_uuid(), 'webhook.test', '{}'::jsonb, 'failed', 3,
           now() + interval '1 hour' + g * interval '10 ms'
    from generate_series(1, 50000) g`);
  // A disabled endpoint's backlog, due since yesterday and never claimed while it stays disabled.
  const [dead] = await handle.db
    .insert(webhookEndpoints)
    .values({ userId: user.id, url: "http://127.0.0.1:9/dead", secret: "unused", status: "disabled" })
    .returning();
  await handle.db.execute(sql`
    insert into webhook_deliveries (endpoint_id, user_id, event_id, type, payload, status, attempts, next_attempt_at)
    select ${dead!.id}::uuid, ${user.id}::uuid, gen_random_uuid(), 'webhook.test', '{}'::jsonb, 'failed', 5,
           now() - interval '1 day' + g * interval '1 ms'
    from generate_series(1, 20000) g`);
  await handle.db.execute(sql`analyze webhook_endpoints`);
  await handle.db.execute(sql`analyze webhook_deliveries`);
}, 120_000);

afterEach(async () => {
  await dispatcher?.close();
  dispatcher = undefined;
});

afterAll(async () => {
  for (const r of receivers) await r.close();
  await consumer?.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await handle?.close();
  await priv?.drop();
});

describe("the idle due loop", () => {
  it("probes through the due index, reading neither the idle endpoints nor the backlogs due later or long ago", async () => {
    const probe = await explain(DUE_PROBE.text, [10_000]);
    const scans = nodes(probe).filter((n) => n["Relation Name"] === "webhook_deliveries");
    expect(scans.map((n) => n["Index Name"])).toEqual(["webhook_deliveries_due_idx"]);
    const read = scans.reduce((sum, n) => sum + Number(n["Actual Rows"] ?? 0) * Number(n["Actual Loops"] ?? 1) + Number(n["Rows Removed by Filter"] ?? 0), 0);
    expect(read).toBe(0);
    expect(buffers(probe)).toBeLessThan(20);
    // What every idle tick cost before: a probe of the due index per active endpoint.
    const claim = await explain(CLAIM.text, [[], [], settings.endpointConcurrency, settings.concurrency, 10_000]);
    expect(buffers(claim)).toBeGreaterThan(IDLE_ENDPOINTS);
  });

  it("runs no claim while nothing comes due, and still sends a replay and a retry coming due within the idle interval", async () => {
    const d = startDispatcher(60_000);
    await waitFor(() => d.engine.counts().probes >= 2, { message: "the loop at rest" });
    const { claims, probes } = d.engine.counts();
    await waitFor(() => d.engine.counts().probes >= probes + 8, { message: "two seconds of idle ticks" });
    expect(d.engine.counts().claims).toBe(claims);

    const rx = await startReceiver();
    receivers.push(rx);
    const user = await createTestUser(handle.db);
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    // What POST /webhook-deliveries/:id/retry writes: due now, seen by no one's fan-out.
    const replayed = await delivery(endpoint.id, user.id, "exhausted", { attempts: 2, scheduleStep: 2 });
    const replayedAt = Date.now();
    await handle.db.update(webhookDeliveries).set(sendAgain()).where(eq(webhookDeliveries.id, replayed.id));
    await waitFor(() => rx.deliveredIds().has(replayed.id), { message: "the replay sent" });
    expect(rx.received[0]!.at - replayedAt).toBeLessThan(1_500);

    const retry = await delivery(endpoint.id, user.id, "failed", { attempts: 1, scheduleStep: 1, nextAttemptAt: sql`now() + interval '500 ms'` });
    await waitFor(() => rx.deliveredIds().has(retry.id), { message: "the retry sent when due" });
    // The claims that sent them, and no others: the loop went back to probing.
    expect(d.engine.counts().claims - claims).toBeLessThan(10);
  });

  it("reclaims a lapsed lease (a killed replica's delivery) at the next sweep, though the probe does not see it", async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const user = await createTestUser(handle.db);
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    const d = startDispatcher(1_000);
    await waitFor(() => d.engine.counts().probes >= 1, { message: "the loop at rest" });
    // Due an hour ago, leased by a replica that died: outside the probe's window.
    const orphan = await delivery(endpoint.id, user.id, "pending", {
      nextAttemptAt: sql`now() - interval '1 hour'`,
      leasedUntil: sql`now() - interval '1 ms'`,
    });
    await waitFor(() => rx.deliveredIds().has(orphan.id), { timeoutMs: 10_000, message: "the orphan sent" });
  });
});
