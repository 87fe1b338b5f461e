import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageEventJob } from "@inboxerr/contracts";
import { messageEvents, messages } from "@inboxerr/db";
import { insertMessages, queuedEvents, waitFor } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("POST /api/v1/messages/:id/cancel", () => {
  it("cancels a queued message, records the event, publishes it and marks it published", async () => {
    const { token, user } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    const res = await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: sent.body.id, status: "cancelled" });

    // Published after the answer, in the background.
    const event = await waitFor(async () => {
      const [row] = await api.db.db.select().from(messageEvents).where(eq(messageEvents.messageId, sent.body.id));
      return row?.publishedAt ? row : null;
    }, { message: "the cancel's event published" });
    expect(event).toMatchObject({ status: "cancelled", userId: user.id });
    for (const queue of api.queues.outbox) {
      const queued = (await queuedEvents<MessageEventJob>(queue)).find((e) => e.eventId === event.id);
      expect(queued).toMatchObject({ eventId: event.id, messageId: sent.body.id, userId: user.id, status: "cancelled" });
    }
    // The send job is dropped; the sender would skip a cancelled message anyway.
    expect(await api.queues.smsSend.getJob(sent.body.id)).toBeUndefined();

    const detail = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(detail.body.events).toEqual([
      { id: null, status: "queued", occurredAt: sent.body.createdAt, payload: null, implied: false },
      { id: event.id, status: "cancelled", occurredAt: event.occurredAt.toISOString(), payload: null, implied: false },
    ]);
  });

  it("cancels a scheduled message", async () => {
    const { token } = await api.user();
    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x", scheduledAt } });
    expect((await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token })).body.status).toBe("cancelled");
  });

  it("answers 409 once the message is past queued, and changes nothing", async () => {
    const { token, user } = await api.user();
    const [accepted] = await insertMessages(api.db.db, user.id, 1, { status: "accepted" });
    const res = await api.call("POST", `/api/v1/messages/${accepted!.id}/cancel`, { token });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "conflict", currentStatus: "accepted" });
    const [row] = await api.db.db.select().from(messages).where(eq(messages.id, accepted!.id));
    expect(row?.status).toBe("accepted");
    expect(await api.db.db.select().from(messageEvents).where(eq(messageEvents.messageId, accepted!.id))).toEqual([]);
  });

  it("answers 409 for a second cancel and 404 for an unknown or malformed id", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token });
    expect((await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token })).status).toBe(409);
    expect((await api.call("POST", `/api/v1/messages/${crypto.randomUUID()}/cancel`, { token })).status).toBe(404);
    expect((await api.call("POST", "/api/v1/messages/not-a-uuid/cancel", { token })).status).toBe(404);
  });

  it("leaves published_at null when the event cannot be published, for the outbox relay", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    const [queue] = api.queues.outbox;
    const original = queue!.addBulk.bind(queue);
    queue!.addBulk = () => Promise.reject(new Error("redis down"));
    const failuresBefore = await publishFailures();
    try {
      expect((await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token })).status).toBe(200);
      await waitFor(async () => (await publishFailures()) > failuresBefore, { message: "the publish failed" });
    } finally {
      queue!.addBulk = original;
    }
    const [event] = await api.db.db.select().from(messageEvents).where(eq(messageEvents.messageId, sent.body.id));
    expect(event).toMatchObject({ status: "cancelled", publishedAt: null });
  });
});

async function publishFailures(): Promise<number> {
  const text = await (await fetch(`${api.base}/metrics`)).text();
  return Number(/^inboxerr_outbox_publish_failures_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}
