import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueSends, QUEUE_NAMES, type MessageEventJob } from "@inboxerr/contracts";
import { createDb, transition, type DbHandle } from "@inboxerr/db";
import { createTestUser, insertMessages, queuedEvents, waitFor } from "@inboxerr/testing";
import { startGateway, startSender, testPrefix } from "./testing/harness";
import { allIn, eventsOf } from "./testing/messages";
import { createPrivateDatabase } from "@inboxerr/testing";

let database: Awaited<ReturnType<typeof createPrivateDatabase>>;
let handle: DbHandle;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  database = await createPrivateDatabase();
  handle = createDb(database.url, { max: 4 });
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
  await handle.close();
  await database.drop();
});

// The relay's logic is @inboxerr/outbox's (tested there); this is the sender running it.
describe("the sender's outbox relay", () => {
  it("gets every transition's event onto each outbox queue that takes it even when the publish after commit failed", async () => {
    const prefix = testPrefix();
    // This replica's Redis for publishing is gone; the worker's own connection is fine.
    const cutOff = await startSender({ gatewayUrl: gateway.url, prefix, databaseUrl: database.url, producerRedisUrl: "redis://127.0.0.1:1" });
    const user = await createTestUser(handle.db);
    const rows = await insertMessages(handle.db, user.id, 20);
    const ids = rows.map((r) => r.id);
    const healthy = await startSender({ gatewayUrl: gateway.url, prefix, databaseUrl: database.url, autostart: false, tuning: { outboxMinAgeMs: 0 } });
    try {
      await enqueueSends(healthy.sender.sendQueue, rows);
      await waitFor(() => allIn(handle.db, user.id, "accepted", 20), { message: "20 accepted" });
      await waitFor(async () => (await cutOff.registry.getSingleMetricAsString("inboxerr_outbox_publish_failures_total")).includes(" 40"));
      const events = await eventsOf(handle.db, ids);
      expect(events).toHaveLength(40); // sending + accepted per message
      expect(events.every((e) => e.publishedAt === null)).toBe(true);

      const published = await healthy.sender.runRelayOnce();

      expect(published).toBe(40);
      for (const queue of healthy.sender.eventQueues) {
        // Each queue gets what it takes: metrics-events all 40, webhook-events the 20 `accepted`.
        const taken = events.filter((e) => queue.name !== QUEUE_NAMES.webhookEvents || e.status === "accepted");
        expect(taken).toHaveLength(queue.name === QUEUE_NAMES.webhookEvents ? 20 : 40);
        const queued = await queuedEvents<MessageEventJob>(queue, ["waiting"]);
        expect(new Set(queued.map((e) => e.eventId))).toEqual(new Set(taken.map((e) => e.id)));
        expect(queued.find((e) => e.eventId === taken[0]!.id)).toMatchObject({ eventId: taken[0]!.id, messageId: taken[0]!.messageId, status: taken[0]!.status });
      }
      expect((await eventsOf(handle.db, ids)).every((e) => e.publishedAt !== null)).toBe(true);
      // Nothing left: a second pass publishes nothing.
      expect(await healthy.sender.runRelayOnce()).toBe(0);
      expect(await healthy.registry.getSingleMetricAsString("inboxerr_outbox_republished_total")).toContain(" 40");
    } finally {
      await cutOff.close();
      await healthy.close();
    }
  });

  it("leaves young unpublished events to the publish that follows their commit", async () => {
    const sender = await startSender({ gatewayUrl: gateway.url, prefix: testPrefix(), databaseUrl: database.url, autostart: false });
    try {
      const user = await createTestUser(handle.db);
      const [m] = await insertMessages(handle.db, user.id, 1);
      // As if a worker committed this transition a moment ago and is about to publish it.
      await transition(handle.db, { messageId: m!.id, to: "sending" });
      expect(await sender.sender.runRelayOnce()).toBe(0);
    } finally {
      await sender.close();
    }
  });
});
