import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, QUEUE_NAMES, type MessageEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { createDb, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker } from "./app";

const env = testEnv();
const prefix = `${env.queuePrefix}:legacy-${uniqueSuffix()}`;
let database: DbHandle;
let producer: Redis;
let legacy: Queue<OutboxJobData>;

beforeAll(() => {
  database = createDb(env.databaseUrl);
  producer = createRedis(env.redisUrl, "producer");
  legacy = createQueue<OutboxJobData>(QUEUE_NAMES.legacyMessageEvents, { connection: producer, prefix });
});
afterAll(async () => {
  await legacy.close();
  await producer.quit();
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
});

describe("the legacy message-events queue", () => {
  it("is logged drained only once no job is left there, not when BullMQ first finds nothing waiting", async () => {
    const user = await createTestUser(database.db);
    const event = (): MessageEventJob => ({
      eventId: randomUUID(),
      messageId: randomUUID(),
      userId: user.id,
      status: "delivered",
      occurredAt: "2024-06-22T12:00:30.000Z",
      latencyMs: 1,
    });
    const [now, later] = [event(), event()];
    await legacy.add(now.status, now, { jobId: now.eventId });
    // A retry in its backoff, say: not waiting, yet not done.
    const delayed = await legacy.add(later.status, later, { jobId: later.eventId, delay: 3_600_000 });

    const logger = createLogger({ service: "metrics-test", level: "silent" });
    const drainedLogs: number[] = [];
    const info = logger.info.bind(logger);
    vi.spyOn(logger, "info").mockImplementation(((obj: unknown, msg?: string) => {
      if (typeof msg === "string" && msg.startsWith("legacy queue drained")) drainedLogs.push(Date.now());
      return info(obj as object, msg);
    }) as typeof logger.info);
    const connection = createRedis(env.redisUrl, "worker");
    const mw = createMetricsWorker({ db: database.db, connection, prefix, logger, batch: { lingerMs: 0 } });
    const legacyWorker = mw.workers[1]!;
    const drained = new Promise<void>((resolve) => legacyWorker.once("drained", () => resolve()));
    try {
      mw.start();
      await drained;
      await waitFor(async () => (await legacy.getJob(now.eventId))?.finishedOn !== undefined, { message: "the waiting job done" });
      // The delayed one becomes due; only once it is done is the queue empty.
      await delayed.promote();
      await waitFor(() => drainedLogs.length > 0, { message: "drained logged" });
      const finishedOn = (await legacy.getJob(later.eventId))?.finishedOn;
      expect(finishedOn).toBeDefined();
      expect(drainedLogs).toHaveLength(1);
      expect(drainedLogs[0]).toBeGreaterThanOrEqual(finishedOn!);
    } finally {
      await mw.close();
      await connection.quit();
    }
  });
});
