/**
 * The dispatcher end to end on real Postgres, Redis and HTTP (ADR 0023): message events from
 * the real status writer and outbox publisher through `webhook-events`, deliveries to local
 * node:http receivers, signatures checked with the `standardwebhooks` package. A private
 * database: a dispatcher claims every due delivery in its database, other files' included.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { and, eq, inArray } from "drizzle-orm";
import type { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxQueues, createRedis, QUEUE_NAMES, singleEventJob, toEventJob, type MessageEventJob, type OutboxQueues } from "@inboxerr/contracts";
import {
  batches,
  createDb,
  parseSecretsKey,
  transitionMany,
  webhookDeliveries,
  webhookDeliveryAttempts,
  webhookEndpoints,
  type DbHandle,
} from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createOutboxPublisher } from "@inboxerr/outbox";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, insertMessages, queuedEventIds, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { verifySignature, type WebhookEvent } from "@inboxerr/webhooks";
import { createWebhookDispatcher, type WebhookDispatcher } from "./app";
import type { DeliverySettings } from "./delivery/engine";
import { createSourcePoller, type EventSource } from "./fanout/sources";
import { deriveBatchCompleted } from "./fanout/wiring";
import { createEndpoint, rotateSecret, startReceiver, type Receiver } from "./testing/receiver";

const env = testEnv();
const prefix = `${env.queuePrefix}:wd-${uniqueSuffix()}`;
const secretsKey = parseSecretsKey(randomBytes(32).toString("base64"));
const logger = createLogger({ service: "webhook-dispatcher-test", level: "silent" });
/** What the dispatcher logs at error level (invalid jobs and events). */
const errorLines: string[] = [];
const dispatcherLogger = createLogger({
  service: "webhook-dispatcher-test",
  level: "error",
  destination: new Writable({ write: (chunk, _enc, cb) => (errorLines.push(String(chunk)), cb()) }),
});
const settings: DeliverySettings = {
  timeoutMs: 3_000,
  // Compressed: attempts at ~0, 1, 2, 4, 6, 9, 12 s after the event.
  schedule: [0, 1, 1, 2, 2, 3, 3],
  concurrency: 200,
  endpointConcurrency: 10,
  disableAfterDays: 5,
  policy: { allowInsecure: true, allowPrivate: true },
  secretsKey,
};

let priv: { url: string; drop: () => Promise<void> };
let handle: DbHandle;
let producer: Redis;
let consumer: Redis;
let queues: OutboxQueues;
let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];

async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

function event(userId: string | null, n: number, type: WebhookEvent["type"] = "webhook.test"): WebhookEvent {
  return { id: randomUUID(), type, userId, occurredAt: new Date(), data: { n } };
}

async function deliveriesOf(endpointId: string) {
  return handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
}

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
    logger: dispatcherLogger,
    delivery: settings,
    endpointCacheMs: 200,
    derive: deriveBatchCompleted,
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

// Before the suite below, whose last test closes the dispatcher.
describe("webhook-events jobs (ADR 0024)", () => {
  const webhookQueue = () => queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!;

  /** `n` messages of a new user with an endpoint for `message.delivered`, moved there: their events, unpublished. */
  async function deliveredEvents(n: number) {
    const user = await createTestUser(handle.db);
    const rx = await receiver();
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url, ["message.delivered"]);
    const messages = await insertMessages(handle.db, user.id, n);
    const events = await transitionMany(handle.pool, messages.map((m) => ({ messageId: m.id, to: "delivered" as const })));
    return { rx, endpoint, jobs: events.map(toEventJob) };
  }

  it("fans out a batch job's valid events and skips, logging it, the one that is invalid", async () => {
    const { rx, endpoint, jobs } = await deliveredEvents(3);
    const bad = { ...jobs[1]!, status: "teleported" } as unknown as MessageEventJob;
    const job = await webhookQueue().add("events", { events: [jobs[0]!, bad, jobs[2]!] });
    await waitFor(async () => (await job.getState()) === "completed", { message: "batch job completed" });
    // Its deliveries are committed before the job completes.
    expect((await deliveriesOf(endpoint.id)).map((d) => d.eventId).sort()).toEqual([jobs[0]!.eventId, jobs[2]!.eventId].sort());
    await waitFor(() => rx.deliveredIds().size === 2, { message: "the two valid events delivered" });
    const logged = errorLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.jobId === job.id);
    expect(logged).toMatchObject({ index: 1, msg: "invalid event in a batch job; skipping it" });
    expect(logged?.detail).toMatch(/^status: /);
  });

  it("delivers a batch job's events once when the job comes twice (a republish)", async () => {
    const { rx, endpoint, jobs } = await deliveredEvents(4);
    const first = await webhookQueue().add("events", { events: jobs });
    const again = await webhookQueue().add("events", { events: jobs });
    await waitFor(async () => (await first.getState()) === "completed" && (await again.getState()) === "completed", { message: "both copies consumed" });
    expect(await deliveriesOf(endpoint.id)).toHaveLength(4);
    await waitFor(() => rx.deliveredIds().size === 4, { message: "four events delivered" });
    expect(rx.received).toHaveLength(4);
  });

  it("still fans out a single-event job of a publisher before ADR 0024", async () => {
    const { rx, endpoint, jobs } = await deliveredEvents(1);
    const single = singleEventJob(QUEUE_NAMES.webhookEvents, jobs[0]!);
    const job = await webhookQueue().add(single.name, single.data, single.opts);
    await waitFor(async () => (await job.getState()) === "completed", { message: "single-event job completed" });
    expect((await deliveriesOf(endpoint.id)).map((d) => d.eventId)).toEqual([jobs[0]!.eventId]);
    await waitFor(() => rx.deliveredIds().size === 1, { message: "the event delivered" });
  });

  it("fails a job that is neither a batch nor an event for good", async () => {
    const job = await webhookQueue().add("events", { events: 42 } as never);
    await waitFor(async () => (await job.getState()) === "failed", { message: "job failed" });
    expect((await webhookQueue().getJob(job.id!))?.failedReason).toMatch(/invalid event job: events: /);
  });
});

describe("webhook-dispatcher", () => {
  it("tells a bulk of 1,000 messages' fates once each, signed, with the message as the API shows it", async () => {
    const user = await createTestUser(handle.db);
    const rx = await receiver();
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url, ["message.delivered", "message.failed"]);
    const messages = await insertMessages(handle.db, user.id, 1_000);
    const publisher = createOutboxPublisher({ pool: handle.pool, queues, logger });
    // accepted (not asked for by this endpoint), then delivered or failed: the status writer's real events.
    publisher.publish(await transitionMany(handle.pool, messages.map((m) => ({ messageId: m.id, to: "accepted" as const }))));
    const fates = new Map(messages.map((m, i) => [m.id, i % 2 === 0 ? "delivered" : "failed"] as const));
    publisher.publish(
      await transitionMany(
        handle.pool,
        messages.map((m) => (fates.get(m.id) === "delivered" ? { messageId: m.id, to: "delivered" as const } : { messageId: m.id, to: "failed" as const, error: "no signal" })),
      ),
    );
    await publisher.close();

    await waitFor(() => rx.deliveredIds().size >= 1_000, { timeoutMs: 90_000, message: "1,000 deliveries at the receiver" });
    const hook = new Webhook(endpoint.plainSecret);
    const idsByMessage = new Map<string, Set<string>>();
    const eventOfId = new Map<string, string>();
    for (const r of rx.received) {
      const body = hook.verify(r.body, r.headers as Record<string, string>) as { type: string; timestamp: string; data: Record<string, unknown> };
      expect(r.headers["user-agent"]).toBe("Inboxerr-Webhooks/1");
      const messageId = body.data.id as string;
      expect(body.type).toBe(`message.${fates.get(messageId)}`);
      expect(body.data.status).toBe(fates.get(messageId));
      expect(Object.keys(body.data).sort()).toEqual(
        ["id", "to", "text", "status", "segments", "encoding", "batchId", "customId", "priority", "scheduledAt", "validUntil", "createdAt", "updatedAt", "acceptedAt", "sentAt", "deliveredAt", "failedAt", "error", "senderId", "from", "attemptCount", "waitingReason"].sort(),
      );
      // A retry is the same body under the same id: never a second id for one event.
      const seen = eventOfId.get(r.id);
      expect(seen === undefined || seen === `${body.type}/${messageId}`).toBe(true);
      eventOfId.set(r.id, `${body.type}/${messageId}`);
      (idsByMessage.get(messageId) ?? idsByMessage.set(messageId, new Set()).get(messageId)!).add(r.id);
    }
    expect(idsByMessage.size).toBe(1_000);
    for (const ids of idsByMessage.values()) expect(ids.size).toBe(1);

    const rows = await deliveriesOf(endpoint.id);
    expect(rows).toHaveLength(1_000);
    expect(rows.every((d) => d.status === "succeeded" && d.attempts >= 1 && d.lastStatus === 200)).toBe(true);
    const attempts = await handle.db.select().from(webhookDeliveryAttempts).where(inArray(webhookDeliveryAttempts.deliveryId, rows.map((d) => d.id)));
    expect(attempts.length).toBe(rows.reduce((n, d) => n + d.attempts, 0));
    expect(attempts.every((a) => a.statusCode === 200 && a.response === "ok")).toBe(true);
  }, 120_000);

  it("tells batch.completed once, when the batch's last message ends", async () => {
    const user = await createTestUser(handle.db);
    const rx = await receiver();
    await createEndpoint(handle.db, secretsKey, user.id, rx.url, ["batch.completed"]);
    const [batch] = await handle.db.insert(batches).values({ userId: user.id, total: 4 }).returning();
    const messages = await insertMessages(handle.db, user.id, 4, { batchId: batch!.id });
    const publisher = createOutboxPublisher({ pool: handle.pool, queues, logger });
    // Three end, then (once their events are fanned out) the last: only then is the batch done.
    const first = await transitionMany(handle.pool, messages.slice(0, 3).map((m) => ({ messageId: m.id, to: "delivered" as const })));
    publisher.publish(first);
    const webhookQueue = queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!;
    await waitFor(async () => {
      const done = new Set(await queuedEventIds(webhookQueue, ["completed"]));
      return first.every((e) => done.has(e.id));
    }, {
      message: "the first three events fanned out",
    });
    expect(await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.userId, user.id))).toHaveLength(0);
    publisher.publish(await transitionMany(handle.pool, [{ messageId: messages[3]!.id, to: "failed" as const, error: "no signal" }]));
    await publisher.close();
    await waitFor(() => rx.deliveredIds().size >= 1, { message: "batch.completed" });
    const body = JSON.parse(rx.received[0]!.body) as { type: string; data: { id: string; total: number; counts: Record<string, number> } };
    expect(body.type).toBe("batch.completed");
    expect(body.data).toMatchObject({ id: batch!.id, total: 4, counts: { delivered: 3, failed: 1 } });
    const rows = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, batch!.id));
    expect(rows).toHaveLength(1);
  });

  it("retries through an outage of 500s and then delivers every event, under its first id", async () => {
    const user = await createTestUser(handle.db);
    // The outage runs 5 s from the first request, not from here: on a loaded machine the first
    // attempt may come late, and must still meet a refusal.
    let recoverAt = Number.POSITIVE_INFINITY;
    const rx = await receiver(() => {
      if (recoverAt === Number.POSITIVE_INFINITY) recoverAt = Date.now() + 5_000;
      return Date.now() < recoverAt ? 500 : 200;
    });
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    const events = Array.from({ length: 50 }, (_, i) => event(user.id, i));
    await dispatcher.fanOut(events);

    await waitFor(() => rx.deliveredIds().size >= 50, { timeoutMs: 30_000, message: "every event after the outage" });
    const rows = await deliveriesOf(endpoint.id);
    expect(rows).toHaveLength(50);
    for (const d of rows) {
      expect(d.status).toBe("succeeded");
      expect(d.attempts).toBeGreaterThan(1);
      const tries = rx.received.filter((r) => r.id === d.id);
      expect(tries[0]!.answered).toBe(500);
      // The body is the stored payload, byte for byte, on every attempt.
      expect(new Set(tries.map((t) => t.body)).size).toBe(1);
    }
    const endpointRow = (await handle.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id)))[0]!;
    expect(endpointRow.failingSince).toBeNull();
    expect(endpointRow.lastSuccessAt).not.toBeNull();
  }, 60_000);

  it("keeps another endpoint's deliveries within a second while one endpoint hangs", async () => {
    const [slowUser, fastUser] = [await createTestUser(handle.db), await createTestUser(handle.db)];
    const hang = await receiver(() => "hang");
    const fast = await receiver();
    const hung = await createEndpoint(handle.db, secretsKey, slowUser.id, hang.url);
    await createEndpoint(handle.db, secretsKey, fastUser.id, fast.url);
    // More than the replica's slots in all: without the per-endpoint cap it would take every
    // slot. Its rows beyond its cap wait, due, and must not block anyone.
    await dispatcher.fanOut(Array.from({ length: settings.concurrency + 50 }, (_, i) => event(slowUser.id, i)));
    await waitFor(() => hang.received.length >= settings.endpointConcurrency, { message: "the hanging endpoint holds its slots" });
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 20; i++) {
      sentAt.set(i, Date.now());
      await dispatcher.fanOut([event(fastUser.id, i)]);
    }
    await waitFor(() => fast.deliveredIds().size >= 20, { timeoutMs: 10_000, message: "the other endpoint's deliveries" });
    const delays = fast.received.map((r) => r.at - sentAt.get((JSON.parse(r.body) as { data: { n: number } }).data.n)!);
    expect(Math.max(...delays)).toBeLessThan(1_000);
    // The cap held: until the first attempts timed out, no more than its slots reached it.
    const first = hang.received[0]!.at;
    expect(hang.received.filter((r) => r.at < first + settings.timeoutMs - 500)).toHaveLength(settings.endpointConcurrency);
    await handle.db.update(webhookEndpoints).set({ status: "disabled" }).where(eq(webhookEndpoints.id, hung.id));
  }, 60_000);

  it("disables an endpoint that answers 410 and stops its delivery", async () => {
    const user = await createTestUser(handle.db);
    const rx = await receiver(() => 410);
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    await dispatcher.fanOut([event(user.id, 1)]);
    const row = await waitFor(
      async () => (await handle.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.status, "disabled"))))[0],
      { message: "the endpoint disabled" },
    );
    expect(row.disabledReason).toBe("410 Gone from the endpoint");
    expect(row.disabledAt).not.toBeNull();
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery).toMatchObject({ status: "exhausted", attempts: 1, lastStatus: 410 });
    // A disabled endpoint gets no new deliveries.
    await dispatcher.fanOut([event(user.id, 2)]);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
    expect(await dispatcher.registry.metrics()).toMatch(/inboxerr_webhook_endpoints_disabled_total\{[^}]*reason="gone"[^}]*\} 1\n/);
  });

  it("follows no redirect, and disables an endpoint failing for longer than WEBHOOK_DISABLE_AFTER_DAYS", async () => {
    const user = await createTestUser(handle.db);
    const elsewhere = await receiver();
    const rx = await receiver(() => 308, { headers: { location: elsewhere.url } });
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    const longAgo = new Date(Date.now() - (settings.disableAfterDays + 1) * 86_400_000);
    await handle.db.update(webhookEndpoints).set({ failingSince: longAgo }).where(eq(webhookEndpoints.id, endpoint.id));
    await dispatcher.fanOut([event(user.id, 1)]);
    const row = await waitFor(
      async () => (await handle.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.status, "disabled"))))[0],
      { message: "the endpoint disabled" },
    );
    expect(row.disabledReason).toBe(`no successful delivery for ${settings.disableAfterDays} days`);
    expect(row.failingSince).toEqual(longAgo);
    const [delivery] = await deliveriesOf(endpoint.id);
    // A 3xx is an answer like any other failure: retried later (were the endpoint active), never followed.
    expect(delivery).toMatchObject({ status: "failed", attempts: 1, lastStatus: 308 });
    expect(rx.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
    expect(await dispatcher.registry.metrics()).toMatch(/inboxerr_webhook_endpoints_disabled_total\{[^}]*reason="failing"[^}]*\} 1\n/);
  });

  it("signs with both secrets after a rotation, each signature under its own secret", async () => {
    const user = await createTestUser(handle.db);
    const rx = await receiver();
    const endpoint = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
    const newSecret = await rotateSecret(handle.db, secretsKey, endpoint.id, endpoint.plainSecret);
    await dispatcher.fanOut([event(user.id, 1)]);
    await waitFor(() => rx.deliveredIds().size >= 1, { message: "the delivery after the rotation" });
    const [r] = rx.received;
    const headers = r!.headers as Record<string, string>;
    for (const secret of [newSecret, endpoint.plainSecret]) expect(new Webhook(secret).verify(r!.body, headers)).toMatchObject({ type: "webhook.test" });
    const [sigNew, sigOld] = headers["webhook-signature"]!.split(" ");
    const ts = Number(headers["webhook-timestamp"]);
    expect(verifySignature(newSecret, r!.id, ts, r!.body, sigNew!)).toBe(true);
    expect(verifySignature(endpoint.plainSecret, r!.id, ts, r!.body, sigOld!)).toBe(true);
    expect(verifySignature(endpoint.plainSecret, r!.id, ts, r!.body, sigNew!)).toBe(false);

    // Once the old secret's 24 h are over, only the new one signs.
    await handle.db.update(webhookEndpoints).set({ previousSecretExpiresAt: new Date(Date.now() - 1_000) }).where(eq(webhookEndpoints.id, endpoint.id));
    await dispatcher.fanOut([event(user.id, 2)]);
    await waitFor(() => rx.deliveredIds().size >= 2, { message: "the delivery after expiry" });
    const later = rx.received[1]!.headers as Record<string, string>;
    expect(later["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(() => new Webhook(endpoint.plainSecret).verify(rx.received[1]!.body, later)).toThrow();
    expect(new Webhook(newSecret).verify(rx.received[1]!.body, later)).toMatchObject({ data: { n: 2 } });
  });

  it("polls a sibling outbox and sends a shared sender's events (no owner) to every admin's endpoints", async () => {
    const admin = await createTestUser(handle.db, { role: "admin" });
    const user = await createTestUser(handle.db);
    const adminRx = await receiver();
    const userRx = await receiver();
    await createEndpoint(handle.db, secretsKey, admin.id, adminRx.url, ["sender.offline"]);
    await createEndpoint(handle.db, secretsKey, user.id, userRx.url);
    const pending = [event(null, 1, "sender.offline"), event(null, 2, "sender.offline")];
    const marked: string[] = [];
    // A stand-in for the sender_events outbox: what it returns until its rows are stamped.
    const source: EventSource = {
      name: "test-source",
      lockKey: 4_712_170_999,
      read: async (_db, limit) => pending.filter((e) => !marked.includes(e.id)).slice(0, limit),
      markPublished: async (_db, ids) => void marked.push(...ids),
    };
    const poller = createSourcePoller({ db: handle.db, logger, fanOut: dispatcher.fanOut, sources: [source], intervalMs: 100 });
    poller.start();
    try {
      await waitFor(() => adminRx.deliveredIds().size >= 2, { message: "the admin's deliveries" });
      expect(marked.sort()).toEqual(pending.map((e) => e.id).sort());
      expect(adminRx.received.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(["sender.offline", "sender.offline"]);
      expect(userRx.received).toHaveLength(0);
    } finally {
      await poller.close();
    }
  });

  it("refuses at delivery an endpoint that resolves to loopback when private targets are not allowed", async () => {
    // Only one dispatcher may claim this database's deliveries: the permissive one goes first.
    await dispatcher.close();
    const strictConsumer = createRedis(env.redisUrl, "worker");
    const strict = createWebhookDispatcher({
      db: handle.db,
      connection: strictConsumer,
      prefix,
      logger,
      delivery: { ...settings, schedule: [0], policy: { allowInsecure: true, allowPrivate: false } },
    });
    strict.start();
    try {
      const user = await createTestUser(handle.db);
      const rx = await receiver();
      // A name (checked at connect, by guardedLookup) and an IP literal (checked before, by checkUrlShape).
      const byName = await createEndpoint(handle.db, secretsKey, user.id, `http://localhost:${rx.port}/hooks`);
      const byIp = await createEndpoint(handle.db, secretsKey, user.id, rx.url);
      await strict.fanOut([event(user.id, 1)]);
      for (const endpoint of [byName, byIp]) {
        const [delivery] = await waitFor(async () => {
          const rows = await deliveriesOf(endpoint.id);
          return rows[0]?.status === "exhausted" ? rows : undefined;
        }, { message: "the unsafe delivery recorded" });
        // The IP literal is the tenant's own; what a name resolves to is not told.
        expect(delivery!.lastError).toMatch(endpoint === byName ? /^unsafe target: localhost resolves to a non-public address / : /^unsafe target: 127\.0\.0\.1 is a loopback address/);
        const attempts = await handle.db.select().from(webhookDeliveryAttempts).where(eq(webhookDeliveryAttempts.deliveryId, delivery!.id));
        expect(attempts).toHaveLength(1);
        expect(attempts[0]!.statusCode).toBeNull();
      }
      expect(rx.received).toHaveLength(0);
      expect(await strict.registry.metrics()).toMatch(/inboxerr_webhook_deliveries_total\{[^}]*outcome="unsafe"[^}]*\} 2\n/);
    } finally {
      await strict.close();
      await strictConsumer.quit();
    }
  });
});
