/**
 * The reconcile pass (ADR 0023): message events published and stamped but lost from
 * `webhook-events` (a Redis wipe) are fanned out from Postgres, once; what no endpoint wants,
 * or happened before an endpoint existed, is not. Real Postgres, Redis and HTTP; a private
 * database, since the pass walks the whole outbox.
 */
import { randomBytes } from "node:crypto";
import { inArray, sql } from "drizzle-orm";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxQueues, createRedis, eventBulkJobs, QUEUE_NAMES, toEventJob, type OutboxQueues } from "@inboxerr/contracts";
import { createDb, parseSecretsKey, transitionMany, webhookDeliveries, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, insertMessages, queuedEventIds, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createWebhookDispatcher, type WebhookDispatcher } from "../app";
import { createEndpoint, startReceiver, type Receiver } from "../testing/receiver";
import { WEBHOOK_RECONCILE_LOCK_KEY } from "./reconcile";

const env = testEnv();
const prefix = `${env.queuePrefix}:wdr-${uniqueSuffix()}`;
const secretsKey = parseSecretsKey(randomBytes(32).toString("base64"));
const logger = createLogger({ service: "webhook-reconcile-test", level: "silent" });

let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let producer: Redis;
let consumer: Redis;
let queues: OutboxQueues;
let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];

beforeAll(async () => {
  priv = await createPrivateDatabase();
  handle = createDb(priv.url, { max: 6 });
  producer = createRedis(env.redisUrl, "producer");
  consumer = createRedis(env.redisUrl, "worker");
  queues = createOutboxQueues({ connection: producer, prefix });
  dispatcher = createWebhookDispatcher({
    db: handle.db,
    connection: consumer,
    prefix,
    logger,
    delivery: {
      timeoutMs: 3_000,
      schedule: [0, 1, 1],
      concurrency: 100,
      endpointConcurrency: 10,
      disableAfterDays: 5,
      policy: { allowInsecure: true, allowPrivate: true },
      secretsKey,
    },
    endpointCacheMs: 100,
    // Passes run by hand below; the timer is kept out of the way.
    reconcile: { intervalMs: 3_600_000, afterMs: 1_000, pageSize: 100 },
  });
  dispatcher.start();
});

afterAll(async () => {
  await dispatcher?.close();
  for (const r of receivers) await r.close();
  await Promise.all((queues ?? []).map((q) => q.close()));
  await Promise.all([producer?.quit(), consumer?.quit()]);
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await handle?.close();
  await priv?.drop();
});

/** Stamps events published as the publisher would have, without putting them on any queue. */
async function stampLost(events: readonly MessageEvent[]): Promise<void> {
  await handle.pool.query("update message_events set published_at = occurred_at where id = any($1::uuid[])", [events.map((e) => e.id)]);
}

async function passUntil(done: () => boolean | Promise<boolean>): Promise<number> {
  let fannedOut = 0;
  await waitFor(
    async () => {
      fannedOut += (await dispatcher.reconciler!.runOnce()) ?? 0;
      return done();
    },
    { timeoutMs: 30_000, intervalMs: 200, message: "the reconcile pass caught up" },
  );
  return fannedOut;
}

describe("webhook reconcile", () => {
  it("fans out, once, message events Redis lost, and nothing no endpoint wants", async () => {
    const [user, other] = [await createTestUser(handle.db), await createTestUser(handle.db)];
    const early = await insertMessages(handle.db, user.id, 5);
    // Before the endpoint existed: these went to no endpoint and must not now.
    const before = await transitionMany(handle.pool, early.map((m) => ({ messageId: m.id, to: "delivered" as const })));
    await stampLost(before);
    await new Promise((r) => setTimeout(r, 20));

    const rx = await startReceiver();
    receivers.push(rx);
    await createEndpoint(handle.db, secretsKey, user.id, rx.url, ["message.delivered", "message.failed"]);
    const messages = await insertMessages(handle.db, user.id, 250);
    const sending = await transitionMany(handle.pool, messages.map((m) => ({ messageId: m.id, to: "sending" as const })));
    const ended = await transitionMany(
      handle.pool,
      messages.map((m, i) => (i % 5 === 0 ? { messageId: m.id, to: "failed" as const, error: "no signal" } : { messageId: m.id, to: "delivered" as const })),
    );
    const otherMessages = await insertMessages(handle.db, other.id, 20);
    const otherEnded = await transitionMany(handle.pool, otherMessages.map((m) => ({ messageId: m.id, to: "delivered" as const })));
    await stampLost([...sending, ...ended, ...otherEnded]);

    // Younger than WEBHOOK_RECONCILE_AFTER_SECONDS: left to the queue copy for now.
    expect(await dispatcher.reconciler!.runOnce()).toBe(0);
    const fannedOut = await passUntil(() => rx.deliveredIds().size >= 250);
    expect(fannedOut).toBe(250);
    await waitFor(async () => rx.deliveredIds().size === 250, { message: "every lost terminal event delivered" });
    const rows = await handle.db.select().from(webhookDeliveries).where(inArray(webhookDeliveries.eventId, [...before, ...ended].map((e) => e.id)));
    expect(rows.map((r) => r.eventId).sort()).toEqual(ended.map((e) => e.id).sort());

    // The queue copy arriving late, and another pass: no second delivery.
    const webhookQueue = queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!;
    await webhookQueue.addBulk(eventBulkJobs(QUEUE_NAMES.webhookEvents, ended.map(toEventJob)));
    await waitFor(async () => {
      const done = new Set(await queuedEventIds(webhookQueue, ["completed"]));
      return ended.every((e) => done.has(e.id));
    }, {
      timeoutMs: 30_000,
      message: "the late queue copies consumed",
    });
    expect(await dispatcher.reconciler!.runOnce()).toBe(0);
    const { rows: count } = await handle.pool.query<{ n: number }>("select count(*)::int as n from webhook_deliveries where user_id = $1", [user.id]);
    expect(count[0]!.n).toBe(250);
    expect(rx.received.length).toBe(250);
  }, 90_000);

  it("runs one pass at a time across replicas", async () => {
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${WEBHOOK_RECONCILE_LOCK_KEY})`);
      expect(await dispatcher.reconciler!.runOnce()).toBeNull();
    });
    expect(await dispatcher.reconciler!.runOnce()).not.toBeNull();
  });
});
