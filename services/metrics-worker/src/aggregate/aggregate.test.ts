import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, QUEUE_NAMES, singleEventJob, type MessageEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { enqueueEvents } from "../testing/enqueue";
import { createDb, metricsAppliedEvents, metricsBuckets, type DbHandle } from "@inboxerr/db";
import { closeServer, listen } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker, type MetricsWorker } from "../app";

const env = testEnv();
const prefix = `${env.queuePrefix}:${uniqueSuffix()}`;
let database: DbHandle;
let producer: Redis;
let consumer: Redis;
let queue: Queue<OutboxJobData>;
let mw: MetricsWorker;
let server: Server;
let base: string;
/** What the worker logs at error level: invalid jobs and events. */
const errorLines: string[] = [];

beforeAll(async () => {
  database = createDb(env.databaseUrl);
  producer = createRedis(env.redisUrl, "producer");
  consumer = createRedis(env.redisUrl, "worker");
  queue = createQueue<OutboxJobData>(QUEUE_NAMES.metricsEvents, { connection: producer, prefix });
  mw = createMetricsWorker({
    db: database.db,
    connection: consumer,
    prefix,
    logger: createLogger({ service: "metrics-test", level: "error", destination: new Writable({ write: (chunk, _enc, cb) => (errorLines.push(String(chunk)), cb()) }) }),
  });
  mw.start();
  const l = await listen(mw.app, 0, "127.0.0.1");
  server = l.server;
  base = `http://127.0.0.1:${l.port}`;
});

afterAll(async () => {
  await mw.close();
  await closeServer(server);
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
});

const event = (userId: string, status: MessageEventJob["status"], occurredAt: string, latencyMs: number | null = 1_000): MessageEventJob => ({
  eventId: randomUUID(),
  messageId: randomUUID(),
  userId,
  status,
  occurredAt,
  latencyMs,
});

async function bucketsOf(userIds: string[]) {
  const rows = await database.db.select().from(metricsBuckets).where(inArray(metricsBuckets.userId, userIds));
  return rows
    .map((r) => ({ userId: r.userId, bucketStart: r.bucketStart.toISOString(), status: r.status, count: r.count, latencyMsSum: r.latencyMsSum }))
    .sort((a, b) => `${a.userId}${a.bucketStart}${a.status}`.localeCompare(`${b.userId}${b.bucketStart}${b.status}`));
}

const appliedCount = async (ids: string[]) =>
  (await database.db.select().from(metricsAppliedEvents).where(inArray(metricsAppliedEvents.eventId, ids))).length;

describe("metrics-worker", () => {
  it("counts events for several users into their own UTC-minute buckets per status", async () => {
    const [a, b] = [await createTestUser(database.db), await createTestUser(database.db)];
    const events = [
      event(a.id, "delivered", "2024-06-22T08:46:01.000Z", 1_000),
      event(a.id, "delivered", "2024-06-22T15:46:59.000+07:00", 3_000), // same UTC minute
      event(a.id, "failed", "2024-06-22T08:46:30.000Z", 500),
      event(a.id, "delivered", "2024-06-22T08:47:00.000Z", null),
      event(b.id, "delivered", "2024-06-22T08:46:10.000Z", 10),
      event(b.id, "sent", "2024-06-22T08:46:10.000Z", 5),
    ];
    await enqueueEvents([queue], events);
    await waitFor(async () => (await appliedCount(events.map((e) => e.eventId))) === events.length, { message: "all applied" });
    const expected = [
      { userId: a.id, bucketStart: "2024-06-22T08:46:00.000Z", status: "delivered", count: 2, latencyMsSum: 4_000 },
      { userId: a.id, bucketStart: "2024-06-22T08:46:00.000Z", status: "failed", count: 1, latencyMsSum: 500 },
      { userId: a.id, bucketStart: "2024-06-22T08:47:00.000Z", status: "delivered", count: 1, latencyMsSum: 0 },
      { userId: b.id, bucketStart: "2024-06-22T08:46:00.000Z", status: "delivered", count: 1, latencyMsSum: 10 },
      { userId: b.id, bucketStart: "2024-06-22T08:46:00.000Z", status: "sent", count: 1, latencyMsSum: 5 },
    ].sort((x, y) => `${x.userId}${x.bucketStart}${x.status}`.localeCompare(`${y.userId}${y.bucketStart}${y.status}`));
    expect(await bucketsOf([a.id, b.id])).toEqual(expected);
  });

  it("counts a redelivered event once", async () => {
    const user = await createTestUser(database.db);
    const e = event(user.id, "delivered", "2024-06-22T09:00:00.000Z", 50);
    await enqueueEvents([queue], [e]);
    await waitFor(async () => (await appliedCount([e.eventId])) === 1, { message: "first copy applied" });
    // The relay or a retry delivering the same event again, under another job id.
    const again = await queue.add("delivered", e, { jobId: `${e.eventId}-again` });
    await waitFor(async () => (await again.getState()) === "completed", { message: "second copy processed" });
    expect((await queue.getJob(again.id!))?.returnvalue).toBe("duplicate");
    expect(await bucketsOf([user.id])).toEqual([
      { userId: user.id, bucketStart: "2024-06-22T09:00:00.000Z", status: "delivered", count: 1, latencyMsSum: 50 },
    ]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/inboxerr_metrics_events_duplicate_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/inboxerr_metrics_events_applied_total\{status="delivered"[^}]*\} [1-9]/);
  });

  it("folds 5,000 events of one user in one minute into a single bucket row", async () => {
    const user = await createTestUser(database.db);
    const events = Array.from({ length: 5_000 }, (_, i) => event(user.id, "delivered", `2024-06-22T10:15:${String(i % 60).padStart(2, "0")}.000Z`, 2));
    await enqueueEvents([queue], events);
    const rows = await waitFor(
      async () => {
        const r = await bucketsOf([user.id]);
        return r[0]?.count === 5_000 ? r : null;
      },
      { timeoutMs: 30_000, message: "5,000 events counted" },
    );
    expect(rows).toEqual([{ userId: user.id, bucketStart: "2024-06-22T10:15:00.000Z", status: "delivered", count: 5_000, latencyMsSum: 10_000 }]);
  });

  it("fails an invalid job for good, writing nothing", async () => {
    const user = await createTestUser(database.db);
    const job = await queue.add("delivered", { ...event(user.id, "delivered", "2024-06-22T11:00:00.000Z"), status: "teleported" } as unknown as MessageEventJob);
    await waitFor(async () => (await job.getState()) === "failed", { message: "job failed" });
    const failed = await queue.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/invalid event job: status/);
    expect(await database.db.select().from(metricsBuckets).where(eq(metricsBuckets.userId, user.id))).toEqual([]);
  });

  it("applies a batch job's valid events and skips, logging it, the one that is invalid", async () => {
    const user = await createTestUser(database.db);
    const [first, last] = [event(user.id, "delivered", "2024-06-22T12:00:01.000Z", 10), event(user.id, "delivered", "2024-06-22T12:00:02.000Z", 20)];
    const bad = { ...event(user.id, "delivered", "2024-06-22T12:00:03.000Z"), status: "teleported" } as unknown as MessageEventJob;
    const job = await queue.add("events", { events: [first, bad, last] });
    await waitFor(async () => (await job.getState()) === "completed", { message: "batch job completed" });
    expect((await queue.getJob(job.id!))?.returnvalue).toEqual({ applied: 2, duplicate: 0, invalid: 1 });
    expect(await bucketsOf([user.id])).toEqual([{ userId: user.id, bucketStart: "2024-06-22T12:00:00.000Z", status: "delivered", count: 2, latencyMsSum: 30 }]);
    const logged = errorLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.jobId === job.id);
    expect(logged).toMatchObject({ index: 1, msg: "invalid event in a batch job; skipping it" });
    expect(logged?.detail).toMatch(/^status: /);
  });

  it("counts the events of a batch job delivered twice once", async () => {
    const user = await createTestUser(database.db);
    const events = Array.from({ length: 3 }, (_, i) => event(user.id, "sent", `2024-06-22T12:30:0${i}.000Z`, 5));
    const first = await queue.add("events", { events });
    await waitFor(async () => (await first.getState()) === "completed", { message: "first copy processed" });
    // The relay republishing them: another job with the same events (ADR 0024).
    const again = await queue.add("events", { events });
    await waitFor(async () => (await again.getState()) === "completed", { message: "second copy processed" });
    expect((await queue.getJob(first.id!))?.returnvalue).toEqual({ applied: 3, duplicate: 0, invalid: 0 });
    expect((await queue.getJob(again.id!))?.returnvalue).toEqual({ applied: 0, duplicate: 3, invalid: 0 });
    expect(await bucketsOf([user.id])).toEqual([{ userId: user.id, bucketStart: "2024-06-22T12:30:00.000Z", status: "sent", count: 3, latencyMsSum: 15 }]);
  });

  it("still applies a single-event job of a publisher before ADR 0024", async () => {
    const user = await createTestUser(database.db);
    const e = event(user.id, "failed", "2024-06-22T13:00:00.000Z", 7);
    const single = singleEventJob(QUEUE_NAMES.metricsEvents, e);
    const job = await queue.add(single.name, single.data, single.opts);
    await waitFor(async () => (await job.getState()) === "completed", { message: "single-event job processed" });
    expect((await queue.getJob(job.id!))?.returnvalue).toBe("applied");
    expect(job.id).toBe(e.eventId);
    expect(await appliedCount([e.eventId])).toBe(1);
  });

  it("fails a job that is neither a batch nor an event for good", async () => {
    const job = await queue.add("events", { events: "all of them" } as unknown as OutboxJobData);
    await waitFor(async () => (await job.getState()) === "failed", { message: "job failed" });
    const failed = await queue.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/invalid event job: events: /);
  });

  it("serves health, readiness and Prometheus metrics", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: "ready",
      checks: { postgres: "ok", redis: "ok", worker: "ok" },
    });
  });
});
