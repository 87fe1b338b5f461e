/**
 * The delivery engine under unfair load and redelivery (issue 17's review, h17/review): hanging
 * endpoints cannot starve healthy ones, the claim never reads a disabled endpoint's backlog, a
 * replay restarts the retry schedule, and a retry landing mid-attempt neither sends the id twice
 * at once nor loses an attempt from the log. Real Postgres, Redis and HTTP.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "@inboxerr/contracts";
import { createDb, parseSecretsKey, sendAgain, webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import type { WebhookEvent } from "@inboxerr/webhooks";
import { createWebhookDispatcher, type WebhookDispatcher } from "./app";
import { CLAIM, type DeliverySettings } from "./delivery/engine";
import { createEndpoint, startReceiver, type Receiver } from "./testing/receiver";

const env = testEnv();
const prefix = `${env.queuePrefix}:wdr-${uniqueSuffix()}`;
const secretsKey = parseSecretsKey(randomBytes(32).toString("base64"));
const logger = createLogger({ service: "webhook-dispatcher-review", level: "silent" });
// Scaled down: 4 slots per replica, 2 per endpoint. Production's 200/10 behave the same with 20 hanging endpoints.
const settings: DeliverySettings = {
  timeoutMs: 3_000,
  // A failed attempt retries late, so only first attempts are in play here.
  schedule: [0, 60],
  concurrency: 4,
  endpointConcurrency: 2,
  disableAfterDays: 5,
  policy: { allowInsecure: true, allowPrivate: true },
  secretsKey,
};

let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let consumer: Redis;
let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];

function event(userId: string, n: number): WebhookEvent {
  return { id: randomUUID(), type: "webhook.test", userId, occurredAt: new Date(), data: { n } };
}

beforeAll(async () => {
  priv = await createPrivateDatabase();
  handle = createDb(priv.url, { max: 6 });
  consumer = createRedis(env.redisUrl, "worker");
  dispatcher = createWebhookDispatcher({ db: handle.db, connection: consumer, prefix, logger, delivery: settings, endpointCacheMs: 200 });
  dispatcher.start();
});

afterAll(async () => {
  await dispatcher?.close();
  for (const r of receivers) await r.close();
  await consumer?.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await handle?.close();
  await priv?.drop();
});

describe("delivery fairness and redelivery", () => {
  it("keeps a healthy endpoint's deliveries within a second while as many endpoints hang as fill the replica's slots", async () => {
    const slots = settings.concurrency / settings.endpointConcurrency;
    const hangers = await Promise.all(Array.from({ length: slots }, () => startReceiver(() => "hang")));
    receivers.push(...hangers);
    const fast = await startReceiver();
    receivers.push(fast);
    const hungIds: string[] = [];
    for (const h of hangers) {
      const user = await createTestUser(handle.db);
      hungIds.push((await createEndpoint(handle.db, secretsKey, user.id, h.url)).id);
      // A backlog beyond its cap, as any endpoint that hangs under traffic builds.
      await dispatcher.fanOut(Array.from({ length: 6 }, (_, i) => event(user.id, i)));
    }
    // They take every slot they may: one endpoint its cap, and past half the slots one each.
    await waitFor(() => hangers.every((h) => h.received.length >= 1) && dispatcher.engine.inFlight() >= settings.concurrency - 1, {
      message: "the hanging endpoints hold the slots they may",
    });
    expect(hangers.reduce((n, h) => n + h.received.length, 0)).toBeLessThan(settings.concurrency);
    const fastUser = await createTestUser(handle.db);
    await createEndpoint(handle.db, secretsKey, fastUser.id, fast.url);
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 5; i++) {
      sentAt.set(i, Date.now());
      await dispatcher.fanOut([event(fastUser.id, i)]);
    }
    await waitFor(() => fast.deliveredIds().size >= 5, { timeoutMs: 30_000, message: "the healthy endpoint's deliveries" });
    const delays = fast.received.map((r) => r.at - sentAt.get((JSON.parse(r.body) as { data: { n: number } }).data.n)!);
    await handle.db.update(webhookEndpoints).set({ status: "disabled" }).where(inArray(webhookEndpoints.id, hungIds));
    // Before the fix (9 s): each waited for a hanging attempt to time out (3 s) and for the
    // hanging endpoints' older backlog, claimed first (oldest next_attempt_at first).
    expect(Math.max(...delays)).toBeLessThan(1_000);
  }, 60_000);

  it("claims without walking the due rows of disabled endpoints (or endpoints at their cap)", async () => {
    const user = await createTestUser(handle.db);
    const dead = await createEndpoint(handle.db, secretsKey, user.id, "http://127.0.0.1:9/dead");
    const backlog = 20_000;
    // A disabled endpoint's deliveries stay pending/failed, due, until it is re-enabled.
    await handle.db.execute(sql`
      insert into webhook_deliveries (endpoint_id, user_id, event_id, type, payload, status, attempts, next_attempt_at)
      select ${dead.id}::uuid, ${user.id}::uuid, gen_random_uuid(), 'webhook.test', '{}'::jsonb, 'failed', 2,
             now() - interval '1 day' + g * interval '1 ms'
      from generate_series(1, ${backlog}) g`);
    await handle.db.update(webhookEndpoints).set({ status: "disabled" }).where(eq(webhookEndpoints.id, dead.id));
    await handle.db.execute(sql`analyze webhook_deliveries`);
    const client = await handle.pool.connect();
    let plan: unknown;
    try {
      await client.query("begin");
      const { rows } = await client.query<{ "QUERY PLAN": unknown }>(`explain (analyze, format json) ${CLAIM.text}`, [[], [], 2, 4, 10_000]);
      plan = rows[0]!["QUERY PLAN"];
    } finally {
      await client.query("rollback");
      client.release();
    }
    // The rows the due scan of webhook_deliveries read, whatever it filtered out after.
    let read = 0;
    const walk = (node: Record<string, unknown>) => {
      if (node["Relation Name"] === "webhook_deliveries" && String(node["Node Type"]).includes("Scan") && node["Index Name"] !== "webhook_deliveries_pkey") {
        read = Math.max(read, Number(node["Actual Rows"] ?? 0) * Number(node["Actual Loops"] ?? 1) + Number(node["Rows Removed by Filter"] ?? 0));
      }
      for (const child of (node["Plans"] as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((plan as { Plan: Record<string, unknown> }[])[0]!.Plan);
    // It asked for 4 rows; before the fix it read the whole disabled backlog every claim (every 250 ms and every freed slot).
    expect(read).toBeLessThan(1_000);
  }, 60_000);
  it("gives a replayed (or retried) exhausted delivery the retry schedule again, not a single try", async () => {
    const user = await createTestUser(handle.db);
    const rx = await startReceiver(() => 503);
    receivers.push(rx);
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    // A delivery that ran through the whole schedule while the receiver was down.
    const [row] = await handle.db
      .insert(webhookDeliveries)
      .values({
        endpointId: endpoint.id,
        userId: user.id,
        eventId: randomUUID(),
        type: "webhook.test",
        payload: { type: "webhook.test", timestamp: new Date().toISOString(), data: {} },
        status: "exhausted",
        attempts: settings.schedule.length,
        scheduleStep: settings.schedule.length,
      })
      .returning();
    // What POST /webhook-endpoints/:id/replay and POST /webhook-deliveries/:id/retry write.
    await handle.db.update(webhookDeliveries).set(sendAgain()).where(eq(webhookDeliveries.id, row!.id));
    const after = await waitFor(
      async () => (await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, row!.id))).find((d) => d.attempts > settings.schedule.length),
      { message: "the replayed attempt recorded" },
    );
    expect(rx.received).toHaveLength(1);
    // Before the fix: "exhausted" after one more try; the receiver still recovering got no retry.
    expect(after).toMatchObject({ status: "failed", scheduleStep: 1, attempts: settings.schedule.length + 1 });
    expect(after.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    // The log counts on: the attempt is n = 3, not a second n = 1.
    const logged = await handle.db.select().from(webhookDeliveryAttempts).where(eq(webhookDeliveryAttempts.deliveryId, row!.id));
    expect(logged.map((a) => a.n)).toEqual([settings.schedule.length + 1]);
  }, 30_000);
  it("logs every attempt it makes, also when a retry or replay lands while the delivery is in flight", async () => {
    const user = await createTestUser(handle.db);
    const rx = await startReceiver(() => 200, { delayMs: 1_500 });
    receivers.push(rx);
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    await dispatcher.fanOut([event(user.id, 1)]);
    await waitFor(() => rx.received.length === 1, { message: "the first attempt in flight" });
    // POST /webhook-deliveries/:id/retry as the api writes it, while the attempt is in flight.
    await handle.db.update(webhookDeliveries).set(sendAgain()).where(eq(webhookDeliveries.endpointId, endpoint.id));
    const [delivery] = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id));
    // Both answers come back and are written (or not) within the lease.
    await waitFor(async () => rx.received.length >= 2 && (await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery!.id)))[0]!.leasedUntil === null, {
      message: "the second, concurrent attempt",
    });
    // Same webhook-id twice, the second only after the first was answered (before the fix: at once,
    // and only the first in the log).
    expect(new Set(rx.received.map((r) => r.id)).size).toBe(1);
    expect(rx.received[1]!.at - rx.received[0]!.at).toBeGreaterThanOrEqual(1_400);
    const logged = await waitFor(
      async () => {
        const rows = await handle.db.select().from(webhookDeliveryAttempts).where(eq(webhookDeliveryAttempts.deliveryId, delivery!.id));
        return rows.length >= rx.received.length && rows;
      },
      { timeoutMs: 8_000, message: `an attempt row for each of the ${rx.received.length} requests the receiver got` },
    );
    expect(logged).toHaveLength(rx.received.length);
    expect(logged.map((a) => a.n).sort()).toEqual([1, 2]);
    const [final] = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery!.id));
    expect(final).toMatchObject({ status: "succeeded", redeliver: false, leasedUntil: null });
  }, 30_000);
  it("never sends one delivery twice when three replicas claim the same due rows", async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const consumer2 = createRedis(env.redisUrl, "worker");
    const second = createWebhookDispatcher({
      db: handle.db,
      connection: consumer2,
      prefix,
      logger,
      delivery: { ...settings, concurrency: 50, endpointConcurrency: 5, idleIntervalMs: 20 },
    });
    const consumer3 = createRedis(env.redisUrl, "worker");
    const third = createWebhookDispatcher({
      db: handle.db,
      connection: consumer3,
      prefix,
      logger,
      delivery: { ...settings, concurrency: 50, endpointConcurrency: 5, idleIntervalMs: 20 },
    });
    try {
      const user = await createTestUser(handle.db);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await createEndpoint(handle.db, secretsKey, user.id, rx.url)).id);
      // Due rows nobody holds (the shape a replay or a lapsed lease leaves), then both replicas race for them.
      await handle.db.execute(sql`
        insert into webhook_deliveries (endpoint_id, user_id, event_id, type, payload, next_attempt_at)
        select e, ${user.id}::uuid, gen_random_uuid(), 'webhook.test', '{"type":"webhook.test","data":{}}'::jsonb, now() + interval '1 second'
        from unnest(${`{${ids.join(",")}}`}::uuid[]) e, generate_series(1, 100)`);
      second.start();
      third.start();
      await waitFor(() => rx.deliveredIds().size >= 2_000, { timeoutMs: 60_000, message: "every delivery" });
      expect(rx.received.length).toBe(2_000);
    } finally {
      await second.close();
      await third.close();
      await Promise.all([consumer2.quit(), consumer3.quit()]);
    }
  }, 90_000);
});
