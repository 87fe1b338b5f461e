import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { inArray, sql } from "drizzle-orm";
import { createOutboxQueues, createRedis, OUTBOX_QUEUES, QUEUE_NAMES, type MessageEventJob, type OutboxJobData, type OutboxQueues } from "@inboxerr/contracts";
import { createDb, messageEvents, transition, transitionMany, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createTestUser, deleteKeysByPrefix, insertMessages, queuedEventIds, testDatabaseUrl, testEnv, uniqueSuffix, waitFor } from "@inboxerr/testing";
import { createOutboxPublisher, publishAndMark, publishEvents } from "./publish";

const logger = createLogger({ service: "outbox-test", level: "silent" });
const prefix = `${testEnv().queuePrefix}:outbox-${uniqueSuffix()}`;
let handle: DbHandle;

beforeAll(() => {
  // One connection: what publishAndMark sets must be gone for the next statement on it.
  handle = createDb(testDatabaseUrl(), { max: 1 });
});
afterAll(async () => {
  await handle.close();
  await deleteKeysByPrefix(testEnv().redisUrl, prefix);
});

const eventsOf = (messageIds: string[]) => handle.db.select().from(messageEvents).where(inArray(messageEvents.messageId, messageIds));
const queueOf = (queues: OutboxQueues, name: string) => queues.find((q) => q.name === name)!;
/** The ids of the events inside a queue's waiting jobs (a job carries up to 200, ADR 0024). */
const waitingIds = async (queue: OutboxQueues[number]) => new Set(await queuedEventIds(queue, ["waiting"]));
/** How many events each job of an addBulk carried. */
const eventsPerJob = (jobs: readonly { data: OutboxJobData }[]) => jobs.map((j) => ("events" in j.data ? j.data.events.length : 1));

async function openQueues() {
  const redis = createRedis(testEnv().redisUrl, "producer");
  await waitFor(() => redis.status === "ready");
  const queues = createOutboxQueues({ connection: redis, prefix: `${prefix}:${uniqueSuffix()}` });
  return {
    queues,
    async close() {
      for (const q of queues) await q.close();
      redis.disconnect();
    },
  };
}

describe("publishAndMark", () => {
  it("puts the events on the queues that take them, then stamps them with an asynchronous commit that does not outlive its statement", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 3);
    const events: MessageEvent[] = [];
    for (const r of rows) {
      const event = await transition(handle.db, { messageId: r.id, to: "sending" });
      if (event) events.push(event);
    }
    expect(events).toHaveLength(3);
    const { queues, close } = await openQueues();
    const metrics = queueOf(queues, QUEUE_NAMES.metricsEvents);
    const webhooks = queueOf(queues, QUEUE_NAMES.webhookEvents);
    const webhookAdds = vi.spyOn(webhooks, "addBulk");
    try {
      await publishAndMark({ pool: handle.pool, queues }, events.slice(0, 2));

      expect(queues.map((q) => q.name)).toEqual([...OUTBOX_QUEUES]);
      expect(await waitingIds(metrics)).toEqual(new Set(events.slice(0, 2).map((e) => e.id)));
      // No customer is told of `sending`: not a job, not even an empty addBulk, on webhook-events...
      expect(webhookAdds).not.toHaveBeenCalled();
      expect(await webhooks.getWaitingCount()).toBe(0);
      // ...and the rows are published all the same: every queue that takes them has them.
      const stored = await eventsOf(rows.map((r) => r.id));
      const published = new Set(stored.filter((e) => e.publishedAt !== null).map((e) => e.id));
      expect(published).toEqual(new Set(events.slice(0, 2).map((e) => e.id)));
      const setting = await handle.db.execute<{ synchronous_commit: string }>(sql`show synchronous_commit`);
      expect(setting.rows[0]?.synchronous_commit).toBe("on");
    } finally {
      await close();
    }
  });

  it("puts only the events customers are told of on webhook-events, and every event on metrics-events", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 4);
    const sending = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    const accepted = await transitionMany(handle.db, rows.slice(0, 2).map((r) => ({ messageId: r.id, to: "accepted" as const })));
    const failed = await transitionMany(handle.db, rows.slice(2).map((r) => ({ messageId: r.id, to: "failed" as const, error: "gateway said no" })));
    const visible = [...accepted, ...failed];
    expect(visible).toHaveLength(4);
    const { queues, close } = await openQueues();
    try {
      await publishAndMark({ pool: handle.pool, queues }, [...sending, ...visible]);

      expect(await waitingIds(queueOf(queues, QUEUE_NAMES.metricsEvents))).toEqual(new Set([...sending, ...visible].map((e) => e.id)));
      expect(await waitingIds(queueOf(queues, QUEUE_NAMES.webhookEvents))).toEqual(new Set(visible.map((e) => e.id)));
      expect((await eventsOf(rows.map((r) => r.id))).every((e) => e.publishedAt !== null)).toBe(true);
    } finally {
      await close();
    }
  });

  it("stamps nothing unless every consumer's queue took the events", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 2);
    const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    const { queues, close } = await openQueues();
    const other = await openQueues();
    // A second consumer whose queue refuses: the first still gets the jobs, the rows stay unpublished.
    vi.spyOn(other.queues[0]!, "addBulk").mockRejectedValue(new Error("redis said no"));
    try {
      await expect(publishAndMark({ pool: handle.pool, queues: [...queues, ...other.queues] }, events)).rejects.toThrow("redis said no");
      expect(await queuedEventIds(queues[0]!, ["waiting"])).toHaveLength(2);
      expect((await eventsOf(rows.map((r) => r.id))).every((e) => e.publishedAt === null)).toBe(true);
    } finally {
      await close();
      await other.close();
    }
  });
});

describe("publishEvents", () => {
  it("puts 450 events in jobs of 200, 200 and 50 on each queue that takes them, in order", async () => {
    const events = Array.from(
      { length: 450 },
      (): MessageEventJob => ({ eventId: randomUUID(), messageId: randomUUID(), userId: randomUUID(), status: "delivered", occurredAt: new Date().toISOString(), latencyMs: 1 }),
    );
    const { queues, close } = await openQueues();
    const adds = queues.map((q) => vi.spyOn(q, "addBulk"));
    try {
      await publishEvents(queues, events);
      for (const [i, queue] of queues.entries()) {
        // One addBulk per queue, of three jobs named `events` with BullMQ's own ids.
        expect(adds[i]).toHaveBeenCalledTimes(1);
        const jobs = await queue.getJobs(["waiting"], 0, -1, true);
        expect(jobs.map((j) => j.name)).toEqual(["events", "events", "events"]);
        expect(eventsPerJob(jobs)).toEqual([200, 200, 50]);
        expect(jobs.flatMap((j) => ("events" in j.data ? j.data.events : [j.data]))).toEqual(events);
      }
    } finally {
      await close();
    }
  });
});

describe("createOutboxPublisher", () => {
  it("coalesces events committed while publishes are in flight, publishes and stamps every one, and leaves later ones to the relay once closed", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 31);
    const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    expect(events).toHaveLength(31);
    const late = events.pop()!;
    const { queues, close } = await openQueues();
    const queue = queues[0]!;
    // The real addBulk, held until released, so the test decides what is in flight.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realAddBulk = queue.addBulk.bind(queue);
    const addBulk = vi.spyOn(queue, "addBulk").mockImplementation(async (jobs) => {
      await gate;
      return realAddBulk(jobs);
    });
    let failures = 0;
    const publisher = createOutboxPublisher({ pool: handle.pool, queues, logger, onFailure: (n) => (failures += n) });
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    try {
      // Two status batches go out one after the other and fill both publish slots...
      publisher.publish(events.slice(0, 3));
      await nextTurn();
      publisher.publish(events.slice(3, 6));
      await nextTurn();
      expect(addBulk).toHaveBeenCalledTimes(2);
      // ...so the eight that commit meanwhile wait, and share the third publish.
      for (let i = 6; i < 30; i += 3) publisher.publish(events.slice(i, i + 3));
      await nextTurn();
      expect(addBulk).toHaveBeenCalledTimes(2);
      release();
      await publisher.close();

      expect(addBulk).toHaveBeenCalledTimes(3);
      // One job per publish (each under 200 events), carrying what that publish had.
      expect(addBulk.mock.calls.map(([jobs]) => eventsPerJob(jobs))).toEqual([[3], [3], [24]]);
      expect(await waitingIds(queue)).toEqual(new Set(events.map((e) => e.id)));
      const stored = await eventsOf(rows.map((r) => r.id));
      expect(stored.filter((e) => e.publishedAt !== null).map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
      expect(failures).toBe(0);

      // Closed (shutdown): a late event is not published but counted, and stays for the relay.
      publisher.publish([late]);
      await waitFor(() => failures === 1);
      expect(addBulk).toHaveBeenCalledTimes(3);
      expect((await eventsOf([late.messageId]))[0]?.publishedAt).toBeNull();
    } finally {
      await close();
    }
  });

  it("gives up on a Redis that never answers within the bound, and leaves the rows to the relay", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 2);
    const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    // Nothing listens there: BullMQ waits for the connection instead of failing.
    const redis = createRedis("redis://127.0.0.1:1", "producer");
    redis.on("error", () => undefined);
    const queues = createOutboxQueues({ connection: redis, prefix });
    for (const q of queues) q.on("error", () => undefined);
    let failures = 0;
    const publisher = createOutboxPublisher({ pool: handle.pool, queues, logger, timeoutMs: 200, onFailure: (n) => (failures += n) });
    try {
      publisher.publish(events);
      await publisher.close();
      expect(failures).toBe(2);
      expect((await eventsOf(rows.map((r) => r.id))).every((e) => e.publishedAt === null)).toBe(true);
    } finally {
      // Closed while their connect is pending: the connect's ECONNREFUSED must not surface as
      // an unhandled rejection once the client is disconnected (createQueue's ObservedQueue).
      for (const q of queues) await q.close();
      redis.disconnect();
    }
  });
});
