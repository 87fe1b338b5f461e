import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batches, messages } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const phone = (i: number) => `+1415555${String(i).padStart(4, "0")}`;

async function queuedJobIds(): Promise<string[]> {
  const jobs = await api.queues.smsSend.getJobs(["wait", "prioritized", "delayed"], 0, -1);
  return jobs.map((j) => j.id!).sort();
}

describe("POST /api/v1/messages/bulk", () => {
  it("accepts 1,000 recipients but the invalid ones, rejects each by index, and enqueues exactly the accepted", async () => {
    const { token, user } = await api.user();
    const bad = new Map([
      [7, "not-a-number"],
      [123, "+1 555"],
      [500, ""],
      [999, "+999 1234 5678"],
    ]);
    const recipients = Array.from({ length: 1_000 }, (_, i) => ({ to: bad.get(i) ?? phone(i), variables: { n: i } }));
    const before = new Set(await queuedJobIds());
    const res = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "Code {{n}}", messages: recipients } });

    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(996);
    expect(res.body.rejected).toEqual(
      [...bad].map(([index, to]) => ({ index, to, code: "invalid_phone", detail: expect.any(String) })),
    );
    expect(res.body.messages).toHaveLength(996);
    expect(res.body.messages.map((m: { index: number }) => m.index)).toEqual(
      Array.from({ length: 1_000 }, (_, i) => i).filter((i) => !bad.has(i)),
    );

    const rows = await api.db.db.select().from(messages).where(eq(messages.batchId, res.body.batchId));
    expect(rows).toHaveLength(996);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const { index, id } of res.body.messages as { index: number; id: string }[]) {
      expect(byId.get(id)).toMatchObject({ userId: user.id, to: phone(index), text: `Code ${index}`, status: "queued", segments: 1, encoding: "GSM-7" });
    }
    const [batch] = await api.db.db.select().from(batches).where(eq(batches.id, res.body.batchId));
    expect(batch?.total).toBe(996);

    const added = (await queuedJobIds()).filter((id) => !before.has(id));
    expect(added).toEqual(rows.map((r) => r.id).sort());
  });

  it("lets a recipient's own text win over the template and rejects the rest by reason", async () => {
    const { token } = await api.user();
    const res = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: {
        text: "Hi {{name}}",
        messages: [
          { to: phone(1), variables: { name: "Ada" } },
          { to: phone(2), text: "Own text" },
          { to: phone(3) },
          { to: phone(4), text: "x".repeat(1_600) },
          { to: phone(5), text: "ok", customId: "c-1" },
          { to: phone(6), text: "ok", customId: "c-1" },
        ],
      },
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(3);
    expect(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [2, "missing_variable"],
      [3, "text_too_long"],
      [5, "duplicate_custom_id"],
    ]);
    const texts = await api.db.db.select({ text: messages.text }).from(messages).where(eq(messages.batchId, res.body.batchId));
    expect(texts.map((t) => t.text).sort()).toEqual(["Hi Ada", "Own text", "ok"]);
  });

  it("rejects a customId the user already used as duplicate_custom_id and keeps the batch total honest", async () => {
    const { token } = await api.user();
    await api.call("POST", "/api/v1/messages", { token, body: { to: phone(1), text: "first", customId: "taken" } });
    const res = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "hello", messages: [{ to: phone(2), customId: "taken" }, { to: phone(3), customId: "fresh" }] },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 1, rejected: [{ index: 0, code: "duplicate_custom_id" }], messages: [{ index: 1 }] });
    const [batch] = await api.db.db.select().from(batches).where(eq(batches.id, res.body.batchId));
    expect(batch?.total).toBe(1);
  });

  it("answers 422 with every rejection in errors when no recipient is valid, storing nothing", async () => {
    const { token, user } = await api.user();
    const res = await api.call("POST", "/api/v1/messages/bulk", { token, body: { messages: [{ to: "nope", text: "x" }, { to: phone(1) }] } });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ index: 0, path: "messages.0.to", code: "invalid_phone" }),
      expect.objectContaining({ index: 1, path: "messages.1.text", code: "missing_text" }),
    ]);
    expect(await api.db.db.select().from(batches).where(eq(batches.userId, user.id))).toEqual([]);
  });

  it("schedules the whole batch when scheduledAt is ahead", async () => {
    const { token } = await api.user();
    const scheduledAt = new Date(Date.now() + 600_000).toISOString();
    const res = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "later", scheduledAt, messages: [{ to: phone(1) }, { to: phone(2) }] } });
    expect(res.status).toBe(202);
    const rows = await api.db.db.select().from(messages).where(eq(messages.batchId, res.body.batchId));
    expect(rows.map((r) => r.status)).toEqual(["scheduled", "scheduled"]);
    for (const r of rows) expect(await api.queues.smsSend.getJobState(r.id)).toBe("delayed");
  });

  it("caps a bulk at 10,000 recipients (400) and a body at 5 MB (413)", async () => {
    const { token } = await api.user();
    const tooMany = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "x", messages: Array.from({ length: 10_001 }, () => ({ to: phone(1) })) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].path).toBe("messages");
    const huge = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "x".repeat(5.5 * 1024 * 1024), messages: [{ to: phone(1) }] } });
    expect(huge.status).toBe(413);
    expect(huge.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(huge.body.code).toBe("payload_too_large");
  });

  it("takes a full 10,000-recipient bulk in one request", async () => {
    const { token } = await api.user();
    const recipients = Array.from({ length: 10_000 }, (_, i) => ({ to: phone(i), text: `Message number ${i} for you` }));
    const res = await api.call("POST", "/api/v1/messages/bulk", { token, body: { messages: recipients } });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(10_000);
    const [batch] = await api.db.db.select().from(batches).where(eq(batches.id, res.body.batchId));
    expect(batch?.total).toBe(10_000);
  });
});
