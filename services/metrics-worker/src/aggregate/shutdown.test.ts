import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inArray } from "drizzle-orm";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, QUEUE_NAMES, type MessageEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { enqueueEvents } from "../testing/enqueue";
import { createDb, metricsAppliedEvents, metricsBuckets, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, queuedEvents, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker } from "../app";

const env = testEnv();
const prefix = `${env.queuePrefix}:${uniqueSuffix()}`;
const logger = createLogger({ service: "metrics-test", level: "silent" });
let database: DbHandle;
let producer: Redis;
let queue: Queue<OutboxJobData>;

beforeAll(() => {
  database = createDb(env.databaseUrl);
  producer = createRedis(env.redisUrl, "producer");
  queue = createQueue<OutboxJobData>(QUEUE_NAMES.metricsEvents, { connection: producer, prefix });
});
afterAll(async () => {
  await queue.close();
  await producer.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
});

function startWorker() {
  const connection = createRedis(env.redisUrl, "worker");
  const mw = createMetricsWorker({ db: database.db, connection, prefix, logger, batch: { lingerMs: 20 } });
  mw.start();
  return {
    async stop() {
      await mw.close();
      await connection.quit();
    },
  };
}

describe("metrics-worker shutdown", () => {
  it("commits the batch in hand before closing, and a successor counts the rest exactly once", async () => {
    const user = await createTestUser(database.db);
    const events: MessageEventJob[] = Array.from({ length: 2_000 }, () => ({
      eventId: randomUUID(),
      messageId: randomUUID(),
      userId: user.id,
      status: "delivered",
      occurredAt: "2024-06-22T12:00:30.000Z",
      latencyMs: 1,
    }));
    const ids = events.map((e) => e.eventId);
    const applied = async () => (await database.db.select().from(metricsAppliedEvents).where(inArray(metricsAppliedEvents.eventId, ids))).length;

    await enqueueEvents([queue], events);
    const first = startWorker();
    await waitFor(async () => (await applied()) > 0, { message: "the first worker started counting" });
    await first.stop();

    // Nothing acknowledged went uncounted, and nothing counted was left unacknowledged.
    const completed = (await queuedEvents(queue, ["completed"])).length;
    expect(await applied()).toBe(completed);

    const second = startWorker();
    try {
      await waitFor(async () => (await applied()) === events.length, { timeoutMs: 30_000, message: "the successor counted the rest" });
    } finally {
      await second.stop();
    }
    const [bucket] = await database.db.select().from(metricsBuckets).where(inArray(metricsBuckets.userId, [user.id]));
    expect(bucket).toMatchObject({ status: "delivered", count: events.length, latencyMsSum: events.length });
  });
});
