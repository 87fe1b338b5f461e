import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transition } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../test/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("GET /api/v1/messages/:id", () => {
  it("shows a new message with an empty timeline: creation writes no event", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    const res = await api.call("GET", `/api/v1/messages/${sent.body.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...sent.body, events: [] });
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
      ["sending", null],
      ["accepted", { state: "Pending" }],
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
