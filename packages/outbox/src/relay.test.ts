import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inArray } from "drizzle-orm";
import { createOutboxQueues, createRedis, QUEUE_NAMES, toEventJob, type OutboxQueues } from "@inboxerr/contracts";
import { createDb, messageEvents, transitionMany, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, insertMessages, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import type { Redis } from "ioredis";
import { publishEvents } from "./publish";
import { createOutboxRelay } from "./relay";

const logger = createLogger({ service: "outbox-test", level: "silent" });
const prefix = `${testEnv().queuePrefix}:relay-${uniqueSuffix()}`;
// The relay republishes every unpublished row of its database: this file's alone.
let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let redis: Redis;
let queues: OutboxQueues;

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 4 });
  redis = createRedis(testEnv().redisUrl, "producer");
  await waitFor(() => redis.status === "ready");
  queues = createOutboxQueues({ connection: redis, prefix });
});
afterAll(async () => {
  for (const q of queues) await q.close();
  redis.disconnect();
  await deleteKeysByPrefix(testEnv().redisUrl, prefix);
  await handle.close();
  await database.drop();
});

const eventsOf = (messageIds: string[]) => handle.db.select().from(messageEvents).where(inArray(messageEvents.messageId, messageIds));

async function unpublishedEvents(n: number) {
  const user = await createTestUser(handle.db);
  const rows = await insertMessages(handle.db, user.id, n);
  const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
  return { ids: rows.map((r) => r.id), events };
}

describe("outbox relay", () => {
  it("pages through what stayed unpublished, puts it on the consumers' queues as the publisher would, and stamps it", async () => {
    const { ids, events } = await unpublishedEvents(25);
    let republished = 0;
    const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 0, pageSize: 10, maxPages: 100, onRepublished: (n) => (republished += n) });

    expect(await relay.runOnce()).toBe(25);

    expect(republished).toBe(25);
    const metrics = queues.find((q) => q.name === QUEUE_NAMES.metricsEvents)!;
    const jobs = await metrics.getJobs(["waiting"], 0, -1);
    expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(events.map((e) => e.id)));
    // The same job the publisher after commit makes: a consumer cannot tell who sent it.
    expect((await metrics.getJob(events[0]!.id))?.data).toEqual(toEventJob(events[0]!));
    // As from the publisher, no customer is told of `sending`: nothing on webhook-events, and
    // the rows are stamped all the same.
    expect(await queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!.getWaitingCount()).toBe(0);
    expect((await eventsOf(ids)).every((e) => e.publishedAt !== null)).toBe(true);
    // Nothing left: a second pass publishes nothing.
    expect(await relay.runOnce()).toBe(0);
  });

  it("republishes a row already on the queues but never stamped (a crash in between) as a no-op by job id", async () => {
    const { ids, events } = await unpublishedEvents(3);
    await publishEvents(queues, events.map(toEventJob));
    const before = await Promise.all(queues.map((q) => q.getWaitingCount()));
    const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 0, pageSize: 100, maxPages: 1 });

    expect(await relay.runOnce()).toBe(3);

    expect(await Promise.all(queues.map((q) => q.getWaitingCount()))).toEqual(before);
    expect((await eventsOf(ids)).every((e) => e.publishedAt !== null)).toBe(true);
  });

  it("leaves young unpublished events to the publish that follows their commit", async () => {
    const { ids } = await unpublishedEvents(1);
    const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 60_000, pageSize: 100, maxPages: 1 });
    expect(await relay.runOnce()).toBe(0);
    expect((await eventsOf(ids))[0]?.publishedAt).toBeNull();
  });
});
