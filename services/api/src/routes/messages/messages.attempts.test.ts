import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageAttempts, messages, senders } from "@inboxerr/db";
import { insertFleet, uniquePhone } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

/**
 * A message whose first attempt (sim1) failed before transmission and whose second (sim2) is
 * accepted, as the sender-worker and webhook-ingest would have left it.
 */
async function retriedMessage(token: string, userId: string) {
  const { senders: [sim1, sim2] } = await insertFleet(api.db.db, userId, [{ phoneNumber: uniquePhone() }, { phoneNumber: uniquePhone() }]);
  const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "hi" } });
  const id = sent.body.id as string;
  const failedAt = new Date(Date.now() - 5_000);
  const acceptedAt = new Date();
  // Inserted n = 2 first: the listing orders by n, not by insertion.
  const [second] = await api.db.db
    .insert(messageAttempts)
    .values({ messageId: id, senderId: sim2!.id, n: 2, status: "accepted", acceptedAt })
    .returning();
  const [first] = await api.db.db
    .insert(messageAttempts)
    .values({ messageId: id, senderId: sim1!.id, n: 1, status: "failed", error: "RESULT_ERROR_LIMIT_EXCEEDED", failedAt })
    .returning();
  await api.db.db.update(messages).set({ status: "accepted", acceptedAt, senderId: sim2!.id }).where(eq(messages.id, id));
  return { id, sim1: sim1!, sim2: sim2!, first: first!, second: second!, failedAt, acceptedAt };
}

describe("messages with their senders and attempts", () => {
  it("GET /messages/:id lists the attempts by n with their senders, and shows the current sender's number", async () => {
    const { token, user } = await api.user();
    const m = await retriedMessage(token, user.id);
    const res = await api.call("GET", `/api/v1/messages/${m.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: m.id, status: "accepted", senderId: m.sim2.id, from: m.sim2.phoneNumber, attemptCount: 2, waitingReason: null });
    expect(res.body.attempts).toEqual([
      {
        id: m.first.id,
        n: 1,
        senderId: m.sim1.id,
        status: "failed",
        error: "RESULT_ERROR_LIMIT_EXCEEDED",
        createdAt: m.first.createdAt.toISOString(),
        acceptedAt: null,
        sentAt: null,
        deliveredAt: null,
        failedAt: m.failedAt.toISOString(),
        cancelledAt: null,
      },
      {
        id: m.second.id,
        n: 2,
        senderId: m.sim2.id,
        status: "accepted",
        error: null,
        createdAt: m.second.createdAt.toISOString(),
        acceptedAt: m.acceptedAt.toISOString(),
        sentAt: null,
        deliveredAt: null,
        failedAt: null,
        cancelledAt: null,
      },
    ]);
  });

  it("GET /messages shows senderId, from, attemptCount and waitingReason, and filters by senderId", async () => {
    const { token, user } = await api.user();
    const m = await retriedMessage(token, user.id);
    const waiting = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552672", text: "later", from: m.sim1.id } });
    await api.db.db.update(messages).set({ waitingReason: "daily_cap" }).where(eq(messages.id, waiting.body.id));
    // A finished message waits for nothing, whatever the column says.
    const done = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552673", text: "done" } });
    await api.db.db.update(messages).set({ status: "failed", failedAt: new Date(), waitingReason: "no_active_sender" }).where(eq(messages.id, done.body.id));

    const list = await api.call("GET", "/api/v1/messages", { token });
    expect(list.status).toBe(200);
    const byId = new Map(list.body.data.map((x: { id: string }) => [x.id, x]));
    expect(byId.get(m.id)).toMatchObject({ senderId: m.sim2.id, from: m.sim2.phoneNumber, attemptCount: 2, waitingReason: null });
    expect(byId.get(waiting.body.id)).toMatchObject({ senderId: null, from: null, attemptCount: 0, waitingReason: "daily_cap" });
    expect(byId.get(done.body.id)).toMatchObject({ status: "failed", waitingReason: null });

    const filtered = await api.call("GET", `/api/v1/messages?senderId=${m.sim2.id}`, { token });
    expect(filtered.body.data.map((x: { id: string }) => x.id)).toEqual([m.id]);
    expect((await api.call("GET", `/api/v1/messages?senderId=${m.sim1.id}`, { token })).body.data).toEqual([]);
    expect((await api.call("GET", "/api/v1/messages?senderId=nope", { token })).status).toBe(400);
  });

  it("shows a sender's number as it is now, and null once its account is gone", async () => {
    const { token, user } = await api.user();
    const m = await retriedMessage(token, user.id);
    const moved = uniquePhone();
    await api.db.db.update(senders).set({ phoneNumber: moved }).where(eq(senders.id, m.sim2.id));
    expect((await api.call("GET", `/api/v1/messages/${m.id}`, { token })).body.from).toBe(moved);
    await api.db.db.delete(senders).where(eq(senders.id, m.sim2.id));
    const after = await api.call("GET", `/api/v1/messages/${m.id}`, { token });
    expect(after.body).toMatchObject({ senderId: null, from: null, attemptCount: 2 });
    expect(after.body.attempts.map((a: { senderId: string | null }) => a.senderId)).toEqual([m.sim1.id, null]);
  });
});
