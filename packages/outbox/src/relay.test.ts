import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inArray } from "drizzle-orm";
import { createOutboxQueues, createRedis, QUEUE_NAMES, toEventJob, type MessageEventJob, type OutboxQueues } from "@inboxerr/contracts";
import { createDb, messageEvents, transitionMany, type DbHandle } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createPrivateDatabase, createTestUser, deleteKeysByPrefix, insertMessages, queuedEventIds, queuedEvents, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
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
    const queued = await queuedEvents<MessageEventJob>(metrics, ["waiting"]);
    expect(new Set(queued.map((e) => e.eventId))).toEqual(new Set(events.map((e) => e.id)));
    // The same jobs the publisher after commit makes: a consumer cannot tell who sent them.
    expect(queued.find((e) => e.eventId === events[0]!.id)).toEqual(toEventJob(events[0]!));
    // As from the publisher, no customer is told of `sending`: nothing on webhook-events, and
    // the rows are stamped all the same.
    expect(await queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!.getWaitingCount()).toBe(0);
    expect((await eventsOf(ids)).every((e) => e.publishedAt !== null)).toBe(true);
    // Nothing left: a second pass publishes nothing.
    expect(await relay.runOnce()).toBe(0);
  });

  it("republishes a row already on the queues but never stamped (a crash in between) in a second job, for consumers to drop by event id", async () => {
    const { ids, events } = await unpublishedEvents(3);
    await publishEvents(queues, events.map(toEventJob));
    const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 0, pageSize: 100, maxPages: 1 });

    expect(await relay.runOnce()).toBe(3);

    // ADR 0024: no jobId = event id, so each event is there twice (webhook-events takes no `sending`).
    const metrics = queues.find((q) => q.name === QUEUE_NAMES.metricsEvents)!;
    const eventIds = new Set(events.map((e) => e.id));
    const mine = async (queue: OutboxQueues[number]) => (await queuedEventIds(queue, ["waiting"])).filter((id) => eventIds.has(id)).sort();
    expect(await mine(metrics)).toEqual(events.flatMap((e) => [e.id, e.id]).sort());
    expect(await mine(queues.find((q) => q.name === QUEUE_NAMES.webhookEvents)!)).toEqual([]);
    expect((await eventsOf(ids)).every((e) => e.publishedAt !== null)).toBe(true);
  });

  it("leaves young unpublished events to the publish that follows their commit", async () => {
    const { ids } = await unpublishedEvents(1);
    const relay = createOutboxRelay({ pool: handle.pool, queues, logger, minAgeMs: 60_000, pageSize: 100, maxPages: 1 });
    expect(await relay.runOnce()).toBe(0);
    expect((await eventsOf(ids))[0]?.publishedAt).toBeNull();
  });
});
