import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("GET /api/v1/batches/:id", () => {
  it("reports the total and the count in every status", async () => {
    const { token } = await api.user();
    const bulk = await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "x", messages: Array.from({ length: 5 }, (_, i) => ({ to: `+1415555000${i}` })) },
    });
    const ids: string[] = bulk.body.messages.map((m: { id: string }) => m.id);
    await api.call("POST", `/api/v1/messages/${ids[0]}/cancel`, { token });
    await api.db.db.update(messages).set({ status: "delivered" }).where(inArray(messages.id, ids.slice(1, 3)));

    const res = await api.call("GET", `/api/v1/batches/${bulk.body.batchId}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: bulk.body.batchId,
      total: 5,
      createdAt: expect.any(String),
      counts: { scheduled: 0, queued: 2, sending: 0, accepted: 0, sent: 0, delivered: 2, failed: 0, cancelled: 1, expired: 0 },
    });
    const rows = await api.db.db.select().from(messages).where(eq(messages.batchId, bulk.body.batchId));
    expect(rows).toHaveLength(5);
  });

  it("answers 404 for an unknown or malformed id", async () => {
    const { token } = await api.user();
    expect((await api.call("GET", `/api/v1/batches/${crypto.randomUUID()}`, { token })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/batches/123", { token })).status).toBe(404);
  });
});
