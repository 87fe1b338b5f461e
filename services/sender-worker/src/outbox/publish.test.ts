import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sql } from "drizzle-orm";
import type { Queue } from "bullmq";
import { Registry } from "prom-client";
import { createQueue, createRedis, QUEUE_NAMES, type MessageEventJob } from "@inboxerr/contracts";
import { createDb, transition, transitionMany, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createTestUser, insertMessages, testDatabaseUrl, testEnv, waitFor } from "@inboxerr/testing";
import { createSenderInstruments } from "../prometheus";
import { logger, testPrefix } from "../testing/harness";
import { eventsOf } from "../testing/messages";
import { createOutboxPublisher, publishAndMark } from "./publish";

let handle: DbHandle;

beforeAll(() => {
  // One connection: what publishAndMark sets must be gone for the next statement on it.
  handle = createDb(testDatabaseUrl(), { max: 1 });
});
afterAll(async () => {
  await handle.close();
});

describe("publishAndMark", () => {
  it("stamps the published rows with an asynchronous commit that does not outlive its statement", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 3);
    const events: MessageEvent[] = [];
    for (const r of rows) {
      const event = await transition(handle.db, { messageId: r.id, to: "sending" });
      if (event) events.push(event);
    }
    expect(events).toHaveLength(3);
    const added: string[] = [];
    const queue = {
      addBulk: (jobs: { opts?: { jobId?: string } }[]) => {
        added.push(...jobs.map((j) => j.opts?.jobId ?? ""));
        return Promise.resolve([]);
      },
    };

    await publishAndMark({ db: handle.db, queue: queue as unknown as Queue<MessageEventJob> }, events.slice(0, 2));

    expect(added).toEqual(events.slice(0, 2).map((e) => e.id));
    const stored = await eventsOf(handle.db, rows.map((r) => r.id));
    const published = new Set(stored.filter((e) => e.publishedAt !== null).map((e) => e.id));
    expect(published).toEqual(new Set(events.slice(0, 2).map((e) => e.id)));
    const setting = await handle.db.execute<{ synchronous_commit: string }>(sql`show synchronous_commit`);
    expect(setting.rows[0]?.synchronous_commit).toBe("on");
  });
});

describe("createOutboxPublisher", () => {
  it("coalesces events committed while publishes are in flight, publishes and stamps every one, and leaves later ones to the relay once closed", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 31);
    const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    expect(events).toHaveLength(31);
    const late = events.pop()!;
    const redis = createRedis(testEnv().redisUrl, "producer");
    const queue = createQueue<MessageEventJob>(QUEUE_NAMES.messageEvents, { connection: redis, prefix: testPrefix() });
    // The real addBulk, held until released, so the test decides what is in flight.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const realAddBulk = queue.addBulk.bind(queue);
    const addBulk = vi.spyOn(queue, "addBulk").mockImplementation(async (jobs) => {
      await gate;
      return realAddBulk(jobs);
    });
    const registry = new Registry();
    const publisher = createOutboxPublisher({ db: handle.db, queue, logger, metrics: createSenderInstruments(registry) });
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    try {
      await waitFor(() => redis.status === "ready");
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
      expect(addBulk.mock.calls.map(([jobs]) => jobs.length)).toEqual([3, 3, 24]);
      const jobs = await queue.getJobs(["waiting"]);
      expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(events.map((e) => e.id)));
      const stored = await eventsOf(handle.db, rows.map((r) => r.id));
      expect(stored.filter((e) => e.publishedAt !== null).map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());

      // Closed (shutdown): a late event is not published but counted, and stays for the relay.
      publisher.publish([late]);
      await waitFor(async () => (await registry.getSingleMetricAsString("inboxerr_outbox_publish_failures_total")).includes(" 1"));
      expect(addBulk).toHaveBeenCalledTimes(3);
      expect((await eventsOf(handle.db, [late.messageId]))[0]?.publishedAt).toBeNull();
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  });
});
