import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batches, messages } from "@inboxerr/db";
import { idempotencyLockName } from "../../send/idempotency";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const bulk = (n: number, text = "hello") => ({ text, messages: Array.from({ length: n }, (_, i) => ({ to: `+1415555${String(i).padStart(4, "0")}` })) });

async function messageCount(userId: string): Promise<number> {
  const [row] = await api.db.db.select({ n: count() }).from(messages).where(eq(messages.userId, userId));
  return row!.n;
}

describe("Idempotency-Key on sends", () => {
  it("returns the first bulk response again and creates nothing new", async () => {
    const { token, user } = await api.user();
    const headers = { "idempotency-key": "bulk-1" };
    const first = await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(20) });
    expect(first.status).toBe(202);
    const jobsBefore = await api.queues.smsSend.getJobCounts();
    const second = await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(20) });
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await messageCount(user.id)).toBe(20);
    expect(await api.db.db.select().from(batches).where(eq(batches.userId, user.id))).toHaveLength(1);
    expect(await api.queues.smsSend.getJobCounts()).toEqual(jobsBefore);
  });

  it("returns the first single-send response again", async () => {
    const { token, user } = await api.user();
    const headers = { "idempotency-key": "one" };
    const body = { to: "+14155552671", text: "once" };
    const first = await api.call("POST", "/api/v1/messages", { token, headers, body });
    const second = await api.call("POST", "/api/v1/messages", { token, headers, body });
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(await messageCount(user.id)).toBe(1);
  });

  it("answers 422 for the same key with a different body", async () => {
    const { token, user } = await api.user();
    const headers = { "idempotency-key": "k" };
    expect((await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(2) })).status).toBe(202);
    const other = await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(2, "different") });
    expect(other.status).toBe(422);
    expect(other.body.detail).toMatch(/different request/);
    expect(await messageCount(user.id)).toBe(2);
  });

  it("answers 409 while a request with the same key is in flight", async () => {
    const { token, user } = await api.user();
    // Hold the in-flight marker exactly as a running request would.
    const client = await api.db.pool.connect();
    try {
      await client.query("begin");
      await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [idempotencyLockName(user.id, "busy")]);
      const res = await api.call("POST", "/api/v1/messages/bulk", { token, headers: { "idempotency-key": "busy" }, body: bulk(3) });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe("conflict");
    } finally {
      await client.query("rollback");
      client.release();
    }
    expect(await messageCount(user.id)).toBe(0);
    const retry = await api.call("POST", "/api/v1/messages/bulk", { token, headers: { "idempotency-key": "busy" }, body: bulk(3) });
    expect(retry.status).toBe(202);
  });

  it("sends concurrent duplicates once: every answer is the first response or a 409", async () => {
    const { token, user } = await api.user();
    const headers = { "idempotency-key": "race" };
    const results = await Promise.all(Array.from({ length: 5 }, () => api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(2_000) })));
    const ok = results.filter((r) => r.status === 202);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of results) expect([202, 409]).toContain(r.status);
    for (const r of ok) expect(r.body).toEqual(ok[0]!.body);
    expect(await messageCount(user.id)).toBe(2_000);
  });

  it("keys are per user: another user's same key is a fresh request", async () => {
    const a = await api.user();
    const b = await api.user();
    const headers = { "idempotency-key": "shared-key" };
    const first = await api.call("POST", "/api/v1/messages/bulk", { token: a.token, headers, body: bulk(1) });
    const second = await api.call("POST", "/api/v1/messages/bulk", { token: b.token, headers, body: bulk(1) });
    expect(second.status).toBe(202);
    expect(second.body.batchId).not.toBe(first.body.batchId);
  });

  it("records nothing for a failed request, so the key can be used once the body is fixed", async () => {
    const { token } = await api.user();
    const headers = { "idempotency-key": "fix-me" };
    expect((await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: { messages: [{ to: "bad", text: "x" }] } })).status).toBe(422);
    expect((await api.call("POST", "/api/v1/messages/bulk", { token, headers, body: bulk(1) })).status).toBe(202);
  });
});
