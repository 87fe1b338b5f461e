import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createQueue, createRedis, QUEUE_NAMES, toEventJob, type OutboxJobData } from "@inboxerr/contracts";
import { enqueueEvents } from "../testing/enqueue";
import { createDb, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createMetricsWorker, type MetricsWorker } from "../app";
import { countsOf, reachedOf, runChains } from "../testing/chains";

const env = testEnv();
const prefix = `${env.queuePrefix}:${uniqueSuffix()}`;
let database: DbHandle;
let producer: Redis;
let consumer: Redis;
let queue: Queue<OutboxJobData>;
let mw: MetricsWorker;

beforeAll(() => {
  database = createDb(env.databaseUrl);
  producer = createRedis(env.redisUrl, "producer");
  consumer = createRedis(env.redisUrl, "worker");
  queue = createQueue<OutboxJobData>(QUEUE_NAMES.metricsEvents, { connection: producer, prefix });
  mw = createMetricsWorker({ db: database.db, connection: consumer, prefix, logger: createLogger({ service: "metrics-test", level: "silent" }) });
  mw.start();
});

afterAll(async () => {
  await mw.close();
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
  await deleteKeysByPrefix(env.redisUrl, prefix);
  await database.close();
});

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe("monotone funnel", () => {
  it("counts the states a report skipped: sent overtaking accepted, delivered overtaking sent", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, [
      ["sending", "accepted", "sent", "delivered"],
      ["sending", "sent", "delivered"], // sms:sent overtook the sender's accepted write
      ["sending", "accepted", "delivered"], // sms:delivered came before sms:sent
      ["sending", "delivered"], // both overtaken
      ["sending", "sent", "failed"],
    ]);
    await enqueueEvents([queue], events.map(toEventJob));
    const expected = { sending: 5, accepted: 5, sent: 5, delivered: 4, failed: 1 };
    await waitFor(async () => total(await countsOf(database.db, user.id)) >= total(expected), { message: "events and implied steps counted" });
    expect(await countsOf(database.db, user.id)).toEqual(expected);
    expect(await reachedOf(database.db, user.id)).toEqual(expected);
  });

  it("never lets failed imply sent or accepted, whichever state it came from", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, [
      ["failed"], // refused before any send
      ["sending", "failed"], // the gateway refused it for good
      ["sending", "accepted", "failed"], // expired on the phone
    ]);
    await enqueueEvents([queue], events.map(toEventJob));
    const expected = { sending: 2, accepted: 1, failed: 3 };
    await waitFor(async () => total(await countsOf(database.db, user.id)) >= total(expected), { message: "events counted" });
    expect(await countsOf(database.db, user.id)).toEqual(expected);
  });

  it("counts each state once when a message's events reach the worker out of order, or twice", async () => {
    const user = await createTestUser(database.db);
    const events = await runChains(database.db, user.id, [
      ["sending", "accepted", "sent", "delivered"],
      ["sending", "sent", "delivered"],
      ["sending", "delivered"],
    ]);
    // Newest first: each delivered is applied before the events that came before it.
    const jobs = events.map(toEventJob).reverse();
    for (const job of jobs) await enqueueEvents([queue], [job]);
    const expected = { sending: 3, accepted: 3, sent: 3, delivered: 3 };
    await waitFor(async () => total(await countsOf(database.db, user.id)) >= total(expected), { message: "events counted" });
    // The relay republishing every one of them under other job ids: all duplicates.
    const again = await queue.addBulk(jobs.map((data) => ({ name: data.status, data, opts: { jobId: `${data.eventId}-again` } })));
    await waitFor(async () => (await Promise.all(again.map((j) => j.getState()))).every((s) => s === "completed"), { message: "copies processed" });
    expect(await countsOf(database.db, user.id)).toEqual(expected);
    expect(await reachedOf(database.db, user.id)).toEqual(expected);
  });
});
