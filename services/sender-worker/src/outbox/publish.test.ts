import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sql } from "drizzle-orm";
import type { Queue } from "bullmq";
import { Registry } from "prom-client";
import { createQueue, createRedis, QUEUE_NAMES, type MessageEventJob } from "@inboxerr/contracts";
import { createDb, transition, transitionMany, type DbHandle, type MessageEvent } from "@inboxerr/db";
import { createTestUser, insertMessages, testDatabaseUrl, testEnv, waitFor } from "@inboxerr/testing";
import { createSenderMetrics } from "../metrics";
import { logger, testPrefix } from "../test/harness";
import { eventsOf } from "../test/messages";
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
  it("coalesces events committed while publishes are in flight, and publishes and stamps every one", async () => {
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 30);
    const events = await transitionMany(handle.db, rows.map((r) => ({ messageId: r.id, to: "sending" as const })));
    expect(events).toHaveLength(30);
    const redis = createRedis(testEnv().redisUrl, "producer");
    const queue = createQueue<MessageEventJob>(QUEUE_NAMES.messageEvents, { connection: redis, prefix: testPrefix() });
    const addBulk = vi.spyOn(queue, "addBulk");
    const publisher = createOutboxPublisher({ db: handle.db, queue, logger, metrics: createSenderMetrics(new Registry()) });
    try {
      await waitFor(() => redis.status === "ready");
      // Ten status batches of three committing back to back, as under load.
      for (let i = 0; i < 30; i += 3) publisher.publish(events.slice(i, i + 3));
      await publisher.drain();

      // Two go out at once; the eight batches that came meanwhile share the third publish.
      expect(addBulk).toHaveBeenCalledTimes(3);
      const jobs = await queue.getJobs(["waiting"]);
      expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(events.map((e) => e.id)));
      const stored = await eventsOf(handle.db, rows.map((r) => r.id));
      expect(stored.every((e) => e.publishedAt !== null)).toBe(true);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  });
});
