import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, QUEUE_NAMES, toEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { enqueueEvents } from "../testing/enqueue";
import { createDb, metricsReconcileState, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, queuedEvents, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker, type MetricsWorker } from "../app";
import { countsOf, createSender, markPublished, reachedOf, reasonsOf, runChains, senderCountsOf } from "../testing/chains";
import { RECONCILE_LOCK_KEY } from "./reconcile";

// The reconcile pass reads every user's events by design: its own database keeps other test
// files' events out of it.
const env = testEnv();
const prefix = `${env.queuePrefix}:${uniqueSuffix()}`;
const logger = createLogger({ service: "metrics-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });
let privateDb: Awaited<ReturnType<typeof createPrivateDatabase>>;
let database: DbHandle;
let producer: Redis;
let queue: Queue<OutboxJobData>;
const workers: { mw: MetricsWorker; connection: Redis }[] = [];
/** Events in the queue's finished jobs (a job carries up to 200, ADR 0024). */
const completedEvents = async () => (await queuedEvents(queue, ["completed"])).length;

beforeAll(async () => {
  privateDb = await createPrivateDatabase();
  database = createDb(privateDb.url);
  producer = createRedis(env.redisUrl, "producer");
  queue = createQueue<OutboxJobData>(QUEUE_NAMES.metricsEvents, { connection: producer, prefix });
});

afterAll(async () => {
  for (const { mw, connection } of workers) {
    await mw.close();
    await connection.quit();
  }
  await queue.close();
  await producer.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
  await privateDb.drop();
});

function worker(reconcile: { intervalMs: number; afterMs: number; pageSize?: number }): MetricsWorker {
  const connection = createRedis(env.redisUrl, "worker");
  const mw = createMetricsWorker({ db: database.db, connection, prefix, logger, reconcile });
  workers.push({ mw, connection });
  return mw;
}

async function appliedOf(userId: string): Promise<number> {
  const { rows } = await database.db.execute<{ n: string }>(
    sql`select count(*) as n from metrics_applied_events a join message_events e on e.id = a.event_id where e.user_id = ${userId}`,
  );
  return Number(rows[0]!.n);
}

const PATHS = [
  ["sending", "accepted", "sent", "delivered"],
  ["sending", "sent", "delivered"],
  ["sending", "delivered"],
  ["sending", "accepted", "failed"],
] as const;
const paths = (n: number) => Array.from({ length: n }, (_, i) => PATHS[i % PATHS.length]!);

describe("reconcile", () => {
  it("counts, exactly once, events Redis lost before the worker consumed them", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, paths(40));
    await enqueueEvents([queue], events.map(toEventJob));
    await markPublished(database.db, events, 120);
    // Redis loses its data: the published jobs are gone, and the rows say they were published.
    await queue.obliterate({ force: true });

    const mw = worker({ intervalMs: 100, afterMs: 60_000 });
    mw.start();
    const expected = await reachedOf(database.db, user.id);
    expect(expected).toEqual({ sending: 40, accepted: 40, sent: 30, delivered: 30, failed: 10 });
    await waitFor(
      async () => {
        expect(await countsOf(database.db, user.id)).toEqual(expected);
        return true;
      },
      { message: "lost events counted from Postgres" },
    );
    // Later passes, and the queue copies turning up after all, count nothing more.
    expect(await mw.reconciler!.runOnce()).toBe(0);
    await enqueueEvents([queue], events.map(toEventJob));
    await waitFor(async () => (await completedEvents()) === events.length, { message: "late copies processed" });
    expect(await countsOf(database.db, user.id)).toEqual(expected);
    const metrics = await mw.registry.getSingleMetricAsString("inboxerr_metrics_events_reconciled_total");
    expect(metrics).toMatch(new RegExp(`inboxerr_metrics_events_reconciled_total\\{[^}]*\\} ${events.length}$`, "m"));
    await mw.close();
  });

  it("leaves events published less than METRICS_RECONCILE_AFTER_SECONDS ago to their queue copy", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, [["sending"]]);
    await markPublished(database.db, events, 1);
    const mw = worker({ intervalMs: 60_000, afterMs: 60_000 });
    expect(await mw.reconciler!.runOnce()).toBe(0);
    expect(await countsOf(database.db, user.id)).toEqual({});
    await markPublished(database.db, events, 61);
    expect(await mw.reconciler!.runOnce()).toBe(1);
    expect(await countsOf(database.db, user.id)).toEqual({ sending: 1 });
    // The watermark rests on the last event it checked, so the next pass starts after it.
    const [state] = await database.db.select().from(metricsReconcileState);
    expect(state?.eventId).toBe(events[0]!.id);
  });

  it("never counts twice when the queue copies and the reconcile pass race", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, paths(1_000));
    // Published after the events of the tests above (the watermark only moves forward).
    await markPublished(database.db, events, 2);
    const before = await completedEvents();
    await enqueueEvents([queue], events.map(toEventJob));
    // Small pages, so the pass takes many transactions while the consumer works through the same ids.
    const mw = worker({ intervalMs: 60_000, afterMs: 1_000, pageSize: 50 });
    mw.start();
    let reconciled = 0;
    while ((await appliedOf(user.id)) < events.length) reconciled += (await mw.reconciler!.runOnce()) ?? 0;
    await waitFor(async () => (await completedEvents()) === before + events.length, { timeoutMs: 30_000, message: "queue drained" });
    // The pass counted some of them while the consumer was working through the same ids.
    expect(reconciled).toBeGreaterThan(0);
    const expected = await reachedOf(database.db, user.id);
    expect(expected).toEqual({ sending: 1_000, accepted: 1_000, sent: 750, delivered: 750, failed: 250 });
    expect(await countsOf(database.db, user.id)).toEqual(expected);
    expect(await appliedOf(user.id)).toBe(events.length);
  });

  it("counts lost events per sender and failure reason too, as the queue path would", async () => {
    const user = await createTestUser(database.db);
    const sender = await createSender(database.db, user.id);
    const events = await runChains(database.db, user.id, paths(8), { senderId: sender, error: (i) => `RESULT_ERROR_${i % 3}` });
    // Published after every event above (the watermark only moves forward), never queued.
    await markPublished(database.db, events, 1);
    const mw = worker({ intervalMs: 60_000, afterMs: 500 });
    expect(await mw.reconciler!.runOnce()).toBe(events.length);
    const expected = await reachedOf(database.db, user.id, sender);
    expect(expected).toEqual({ sending: 8, accepted: 8, sent: 6, delivered: 6, failed: 2 });
    expect(await senderCountsOf(database.db, user.id, sender)).toEqual(expected);
    // paths(8) fails messages 3 and 7.
    expect(await reasonsOf(database.db, user.id, sender)).toEqual({ RESULT_ERROR_0: 1, RESULT_ERROR_1: 1 });
    expect(await mw.reconciler!.runOnce()).toBe(0);
    expect(await senderCountsOf(database.db, user.id, sender)).toEqual(expected);
  });

  it("runs one pass at a time across replicas (advisory lock)", async () => {
    const mw = worker({ intervalMs: 60_000, afterMs: 60_000 });
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${RECONCILE_LOCK_KEY})`);
      expect(await mw.reconciler!.runOnce()).toBeNull();
    });
    expect(await mw.reconciler!.runOnce()).toBe(0);
  });
});
