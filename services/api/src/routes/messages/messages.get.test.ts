import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transition } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

type Entry = { id: string | null; status: string; implied: boolean };
/** [status, implied, whether it is a stored event] */
const brief = (e: Entry) => [e.status, e.implied, e.id === null ? null : "event"];

describe("GET /api/v1/messages/:id", () => {
  it("starts the timeline with the creation, derived since creation writes no event", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    const res = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...sent.body,
      attempts: [],
      events: [{ id: null, status: "queued", occurredAt: sent.body.createdAt, payload: null, implied: false }],
    });
  });

  it("starts a message sent later with scheduled, and its move to sending follows it", async () => {
    const { token } = await api.user();
    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x", scheduledAt } });
    expect(sent.body.status).toBe("scheduled");
    await transition(api.db.db, { messageId: sent.body.id, to: "sending" });
    const res = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(res.body.events.map(brief)).toEqual([
      ["scheduled", false, null],
      ["sending", false, "event"],
    ]);
    expect(res.body.events[0].occurredAt).toBe(sent.body.createdAt);
  });

  it("lists the transitions oldest first with their payloads", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    await transition(api.db.db, { messageId: sent.body.id, to: "sending" });
    await transition(api.db.db, { messageId: sent.body.id, to: "accepted", payload: { state: "Pending" } });
    const res = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(res.body.status).toBe("accepted");
    expect(res.body.acceptedAt).toEqual(expect.any(String));
    expect(res.body.events.map((e: { status: string; payload: unknown }) => [e.status, e.payload])).toEqual([
      ["queued", null],
      ["sending", null],
      ["accepted", { state: "Pending" }],
    ]);
  });

  it("shows the states a transition skipped as implied, at the implying event's time", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    await transition(api.db.db, { messageId: sent.body.id, to: "sending" });
    // sms:sent overtook the sender's accepted write, then sms:delivered came.
    const s = await transition(api.db.db, { messageId: sent.body.id, to: "sent" });
    expect(await transition(api.db.db, { messageId: sent.body.id, to: "accepted" })).toBeNull();
    await transition(api.db.db, { messageId: sent.body.id, to: "delivered" });
    const res = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(res.body.events.map(brief)).toEqual([
      ["queued", false, null],
      ["sending", false, "event"],
      ["accepted", true, null],
      ["sent", false, "event"],
      ["delivered", false, "event"],
    ]);
    expect(res.body.events[2].occurredAt).toBe(s!.occurredAt.toISOString());
  });

  it("implies nothing before a failure: a failed message may never have reached the gateway", async () => {
    const { token } = await api.user();
    const a = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    const b = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "y" } });
    await transition(api.db.db, { messageId: a.body.id, to: "sending" });
    await transition(api.db.db, { messageId: a.body.id, to: "failed" });
    await transition(api.db.db, { messageId: b.body.id, to: "sending" });
    await transition(api.db.db, { messageId: b.body.id, to: "delivered" });
    const [ra, rb] = await Promise.all([a, b].map((m) => api.call("GET", `/api/v1/messages/${m.body.id}`, { token })));
    expect(ra!.body.events.map(brief)).toEqual([
      ["queued", false, null],
      ["sending", false, "event"],
      ["failed", false, "event"],
    ]);
    expect(rb!.body.events.map(brief)).toEqual([
      ["queued", false, null],
      ["sending", false, "event"],
      ["accepted", true, null],
      ["sent", true, null],
      ["delivered", false, "event"],
    ]);
  });

  it("answers 404 problem+json for an unknown or malformed id", async () => {
    const { token } = await api.user();
    for (const id of [crypto.randomUUID(), "bulk", "1 or 1=1"]) {
      const res = await api.call("GET", `/api/v1/messages/${encodeURIComponent(id)}`, { token });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("not_found");
    }
  });
});
