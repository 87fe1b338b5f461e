import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe("POST /api/v1/messages", () => {
  it("stores a queued message, enqueues its job and answers 202 with the message", async () => {
    const { token } = await api.user();
    const res = await api.call("POST", "/api/v1/messages", { token, body: { to: "(415) 555-2671", text: "Hello", customId: "order-1" } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      id: expect.any(String),
      to: "+14155552671",
      text: "Hello",
      status: "queued",
      segments: 1,
      encoding: "GSM-7",
      batchId: null,
      customId: "order-1",
      priority: 0,
      scheduledAt: null,
      validUntil: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      acceptedAt: null,
      sentAt: null,
      deliveredAt: null,
      failedAt: null,
      error: null,
      senderId: null,
      from: null,
      attemptCount: 0,
      waitingReason: null,
    });
    expect(res.headers.get("location")).toBe(`/api/v1/messages/${res.body.id}`);
    const job = await api.queues.smsSend.getJob(res.body.id);
    expect(job?.data).toEqual({ messageId: res.body.id });
    const [row] = await api.db.db.select().from(messages).where(eq(messages.id, res.body.id));
    expect(row?.queuedAt).toBeInstanceOf(Date);
  });

  it("stores a future send as scheduled, stamps nothing else, and delays its job", async () => {
    const { token } = await api.user();
    const scheduledAt = inAnHour();
    const res = await api.call("POST", "/api/v1/messages", { token, body: { to: "+442079460958", text: "Later", scheduledAt, priority: 100 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "scheduled", scheduledAt, priority: 100 });
    const [row] = await api.db.db.select().from(messages).where(eq(messages.id, res.body.id));
    expect(row?.queuedAt).toBeNull();
    expect(await api.queues.smsSend.getJobState(res.body.id)).toBe("delayed");
    const job = await api.queues.smsSend.getJob(res.body.id);
    expect(job!.opts.delay).toBeGreaterThan(3_500_000);
  });

  it("counts UCS-2 segments", async () => {
    const { token } = await api.user();
    const res = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "Привет! ".repeat(10) } });
    expect(res.body).toMatchObject({ encoding: "UCS-2", segments: 2 });
  });

  it("answers 400 when validUntil is not after scheduledAt, and stores nothing", async () => {
    const { token, user } = await api.user();
    const scheduledAt = inAnHour();
    const res = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x", scheduledAt, validUntil: scheduledAt } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: "validUntil", detail: "validUntil must be after scheduledAt" })]);
    expect(await api.db.db.select().from(messages).where(eq(messages.userId, user.id))).toEqual([]);
  });

  it("says a scheduledAt without a UTC offset lacks one, and stores nothing", async () => {
    const { token, user } = await api.user();
    const local = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x", scheduledAt: "2030-01-31T09:00:00" } });
    expect(local.status).toBe(400);
    expect(local.body.errors).toEqual([expect.objectContaining({ path: "scheduledAt", detail: expect.stringMatching(/has no UTC offset: add Z/) })]);
    const garbage = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x", validUntil: "tomorrow" } });
    expect(garbage.body.errors).toEqual([expect.objectContaining({ path: "validUntil", detail: expect.stringMatching(/^must be an ISO 8601 date-time with a UTC offset/) })]);
    expect(await api.db.db.select().from(messages).where(eq(messages.userId, user.id))).toEqual([]);
  });

  it("rejects an unusable number or an overlong text with 422 and the reason code", async () => {
    const { token } = await api.user();
    const bad = await api.call("POST", "/api/v1/messages", { token, body: { to: "+1 555", text: "x" } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: "to", code: "invalid_phone" })]);
    const long = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "a".repeat(1531) } });
    expect(long.status).toBe(422);
    expect(long.body.errors).toEqual([expect.objectContaining({ path: "text", code: "text_too_long" })]);
  });

  it("answers 409 duplicate_custom_id for a customId the user already used, but not for another user", async () => {
    const a = await api.user();
    const b = await api.user();
    const body = { to: "+14155552671", text: "x", customId: "same" };
    expect((await api.call("POST", "/api/v1/messages", { token: a.token, body })).status).toBe(202);
    const again = await api.call("POST", "/api/v1/messages", { token: a.token, body });
    expect(again.status).toBe(409);
    expect(again.body.errors).toEqual([expect.objectContaining({ code: "duplicate_custom_id" })]);
    expect((await api.call("POST", "/api/v1/messages", { token: b.token, body })).status).toBe(202);
  });

  it("answers malformed JSON with 400 problem+json and a non-JSON body with 415, writing nothing", async () => {
    const { token, user } = await api.user();
    const malformed = await api.call("POST", "/api/v1/messages", { token, raw: '{"to": "+14155552671", "text": ', headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: "malformed_json", status: 400 });
    const plain = await api.call("POST", "/api/v1/messages", { token, raw: "to=+14155552671", headers: { "content-type": "text/plain" } });
    expect(plain.status).toBe(415);
    const wrongTypes = await api.call("POST", "/api/v1/messages", { token, body: { to: 14155552671, text: ["x"], priority: 500 } });
    expect(wrongTypes.status).toBe(400);
    expect(wrongTypes.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["priority", "text", "to"]);
    expect(await api.db.db.select().from(messages).where(eq(messages.userId, user.id))).toEqual([]);
  });
});
