/**
 * Issue 14: per outbox consumer queue, an event reaches metrics exactly once across a publisher
 * that crashed between publishing and marking, and across the upgrade from the single
 * `message-events` queue to a queue per consumer (ADR 0013). Real publisher, relay and worker,
 * on a database of this file's own (the relay republishes every unpublished row it finds).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq, inArray } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createOutboxQueues, createQueue, createRedis, QUEUE_NAMES, singleEventJob, toEventJob, type OutboxJobData, type OutboxQueues } from "@inboxerr/contracts";
import { enqueueEvents } from "../testing/enqueue";
import { createDb, messageEvents, metricsAppliedEvents, metricsBuckets, transitionMany, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createOutboxPublisher, createOutboxRelay } from "@inboxerr/outbox";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, insertMessages, queuedEventIds, queuedEvents, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { markPublished } from "../testing/chains";
import { createMetricsWorker, type MetricsWorker } from "../app";

const env = testEnv();
const logger = createLogger({ service: "metrics-test", level: "silent" });
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let producer: Redis;

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 6 });
  producer = createRedis(env.redisUrl, "producer");
  await waitFor(() => producer.status === "ready");
});
afterAll(async () => {
  producer.disconnect();
  await handle.close();
  await database.drop();
});

/** One test's queues and worker, under a prefix of its own. */
async function setup() {
  const prefix = `${env.queuePrefix}:exactly-once-${uniqueSuffix()}`;
  const ctx = { connection: producer, prefix };
  const queues = createOutboxQueues(ctx);
  const legacy = createQueue<OutboxJobData>(QUEUE_NAMES.legacyMessageEvents, ctx);
  const connection = createRedis(env.redisUrl, "worker");
  const worker: MetricsWorker = createMetricsWorker({ db: handle.db, connection, prefix, logger });
  const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 0, pageSize: 100, maxPages: 10 });
  return {
    queues,
    legacy,
    worker,
    relay,
    async close() {
      await worker.close();
      await connection.quit();
      for (const q of [...queues, legacy]) await q.close();
      await deleteKeysByPrefix(env.redisUrl, prefix);
    },
  };
}

/** Committed transitions whose outbox rows nobody has published yet. */
async function committedEvents(n: number, userId?: string): Promise<{ userId: string; events: MessageEvent[] }> {
  const owner = userId ?? (await createTestUser(handle.db)).id;
  const rows = await insertMessages(handle.db, owner, n);
  const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
  expect(events).toHaveLength(n);
  return { userId: owner, events };
}

const appliedCount = async (events: readonly MessageEvent[]) =>
  (await handle.db.select().from(metricsAppliedEvents).where(inArray(metricsAppliedEvents.eventId, events.map((e) => e.id)))).length;

async function sendingCount(userId: string): Promise<number> {
  const rows = await handle.db
    .select({ count: metricsBuckets.count })
    .from(metricsBuckets)
    .where(and(eq(metricsBuckets.userId, userId), eq(metricsBuckets.status, "sending")));
  return rows.reduce((sum, r) => sum + r.count, 0);
}

async function unpublished(events: readonly MessageEvent[]): Promise<number> {
  const rows = await handle.db.select().from(messageEvents).where(inArray(messageEvents.id, events.map((e) => e.id)));
  return rows.filter((r) => r.publishedAt === null).length;
}

/** An old publisher (before ADR 0013, so before 0024): one job per event on message-events only. */
async function oldEnqueue(legacy: Queue<OutboxJobData>, events: readonly MessageEvent[]): Promise<void> {
  await legacy.addBulk(events.map((e) => singleEventJob(QUEUE_NAMES.legacyMessageEvents, toEventJob(e))));
}

/** An old publisher's whole publish: its jobs, then the rows stamped. */
async function oldPublish(legacy: Queue<OutboxJobData>, events: readonly MessageEvent[]): Promise<void> {
  await oldEnqueue(legacy, events);
  await markPublished(handle.db, events, 0);
}

/** The real publisher, on `pool`, handed `events` and closed (so done with them). */
async function publish(pool: DbHandle["pool"], queues: OutboxQueues, events: readonly MessageEvent[]): Promise<number> {
  let failures = 0;
  const publisher = createOutboxPublisher({ pool, queues, logger, onFailure: (n) => (failures += n) });
  publisher.publish(events);
  await publisher.close();
  return failures;
}

type Outcomes = { applied: number; duplicate: number; invalid: number };

/**
 * What the finished jobs of the queues came to, summed over their events: a batch job returns
 * its counts per outcome, a single-event (pre-0024) job its one outcome.
 */
async function outcomes(queues: readonly Queue<OutboxJobData>[]): Promise<Outcomes> {
  const sum: Outcomes = { applied: 0, duplicate: 0, invalid: 0 };
  for (const q of queues) {
    for (const job of await q.getJobs(["completed"], 0, -1)) {
      const r = job.returnvalue as Outcomes | "applied" | "duplicate";
      if (typeof r === "string") sum[r]++;
      else for (const k of ["applied", "duplicate", "invalid"] as const) sum[k] += r[k];
    }
  }
  return sum;
}

/** Events in the queues' finished jobs (a job carries up to 200, ADR 0024). */
const completed = async (queues: readonly Queue<OutboxJobData>[]) =>
  (await Promise.all(queues.map((q) => queuedEvents(q, ["completed"])))).reduce((n, events) => n + events.length, 0);

/** The metrics worker's own queue among every consumer's (the others are not its to drain). */
const own = (queues: OutboxQueues) => queues.filter((q) => q.name === QUEUE_NAMES.metricsEvents);

describe("metrics-events: an event reaches metrics exactly once", () => {
  it("across a publisher crash between publishing and marking: the relay republishes, metrics counts once", async () => {
    const t = await setup();
    try {
      const { userId, events } = await committedEvents(12);
      // The publisher's first half ran (each queue that takes the events has them), then its process
      // died before the UPDATE that marks them: the rows stay unpublished.
      await enqueueEvents(t.queues, events.map(toEventJob));
      t.worker.start();
      await waitFor(async () => (await appliedCount(events)) === 12, { message: "first copies counted" });
      // A republish is a new job (ADR 0024: no jobId = event id); the first copies' finished jobs
      // go, so what completes next is only the relay's.
      for (const q of own(t.queues)) await q.clean(0, 0, "completed");
      expect(await unpublished(events)).toBe(12);

      expect(await t.relay.runOnce()).toBe(12);

      await waitFor(async () => (await completed(own(t.queues))) === 12, { message: "republished copies processed" });
      expect(await outcomes(own(t.queues))).toEqual({ applied: 0, duplicate: 12, invalid: 0 });
      expect(await sendingCount(userId)).toBe(12);
      expect(await unpublished(events)).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("across the real publisher failing to stamp: the relay republishes, metrics counts once", async () => {
    const t = await setup();
    try {
      const { userId, events } = await committedEvents(10);
      // A real pool whose stamp UPDATE fails (the database went away after the queues took the events).
      const pool = new Proxy(handle.pool, {
        get(target, key, receiver) {
          if (key !== "query") return Reflect.get(target, key, receiver) as unknown;
          return (config: unknown, ...rest: unknown[]) =>
            (config as { name?: string } | null)?.name === "inboxerr_outbox_mark_published"
              ? Promise.reject(new Error("connection terminated"))
              : (target.query as (...args: unknown[]) => unknown).call(target, config, ...rest);
        },
      });
      expect(await publish(pool, t.queues, events)).toBe(10);
      expect(await unpublished(events)).toBe(10);
      // On metrics-events, which takes every status (webhook-events takes no `sending` event).
      for (const q of own(t.queues)) expect(await queuedEventIds(q)).toHaveLength(10);
      t.worker.start();
      await waitFor(async () => (await appliedCount(events)) === 10, { message: "published copies counted" });
      for (const q of own(t.queues)) await q.clean(0, 0, "completed");

      expect(await t.relay.runOnce()).toBe(10);

      await waitFor(async () => (await completed(own(t.queues))) === 10, { message: "republished copies processed" });
      expect(await outcomes(own(t.queues))).toEqual({ applied: 0, duplicate: 10, invalid: 0 });
      expect(await sendingCount(userId)).toBe(10);
      expect(await unpublished(events)).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("across the upgrade from the single message-events queue: what old and new publishers put on either queue counts once", async () => {
    const t = await setup();
    try {
      const { userId, events: before } = await committedEvents(12);
      const [oldOnly, oldUnmarked, newOnly] = [before.slice(0, 4), before.slice(4, 8), before.slice(8)];
      // Before the upgrade an old publisher put these on message-events and marked them...
      await oldPublish(t.legacy, oldOnly);
      // ...and these too, but crashed before marking them.
      await oldEnqueue(t.legacy, oldUnmarked);
      // The new publishers write to the consumer queues; the new relay republishes what the
      // old one left unmarked there too, so those events wait in both queues.
      expect(await publish(handle.pool, t.queues, newOnly)).toBe(0);
      expect(await t.relay.runOnce()).toBe(oldUnmarked.length);

      t.worker.start();
      // An old publisher still running mid-upgrade keeps writing to message-events.
      const { events: oldLate } = await committedEvents(4, userId);
      await oldPublish(t.legacy, oldLate);
      const events = [...before, ...oldLate];

      const all = [t.legacy, ...own(t.queues)];
      const copies = oldOnly.length + 2 * oldUnmarked.length + newOnly.length + oldLate.length;
      await waitFor(async () => (await completed(all)) === copies, { message: "every copy in both queues processed" });
      const ids = (await Promise.all(all.map((q) => queuedEventIds(q, ["completed"])))).flat();
      expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
      // Every event applied once, whichever queue and job shape brought it; each other copy a duplicate.
      expect(await outcomes(all)).toEqual({ applied: 16, duplicate: copies - 16, invalid: 0 });
      expect(await appliedCount(events)).toBe(16);
      expect(await sendingCount(userId)).toBe(16);
      expect(await unpublished(events)).toBe(0);
      expect(await t.legacy.getJobCounts("waiting", "active", "delayed", "failed")).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    } finally {
      await t.close();
    }
  });
});
