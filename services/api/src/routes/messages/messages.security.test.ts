import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("tenant isolation", () => {
  it("answers 404 to user B for user A's message and batch, and B cannot cancel it", async () => {
    const a = await api.user();
    const b = await api.user();
    const bulk = await api.call("POST", "/api/v1/messages/bulk", { token: a.token, body: { text: "x", messages: [{ to: "+14155552671" }] } });
    const id = bulk.body.messages[0].id;

    expect((await api.call("GET", `/api/v1/messages/${id}`, { token: a.token })).status).toBe(200);
    expect((await api.call("GET", `/api/v1/batches/${bulk.body.batchId}`, { token: a.token })).status).toBe(200);

    const get = await api.call("GET", `/api/v1/messages/${id}`, { token: b.token });
    expect(get.status).toBe(404);
    expect(get.body.code).toBe("not_found");
    expect((await api.call("GET", `/api/v1/batches/${bulk.body.batchId}`, { token: b.token })).status).toBe(404);
    expect((await api.call("POST", `/api/v1/messages/${id}/cancel`, { token: b.token })).status).toBe(404);
    const [row] = await api.db.db.select().from(messages).where(eq(messages.id, id));
    expect(row?.status).toBe("queued");

    const listed = await api.call("GET", `/api/v1/messages?batchId=${bulk.body.batchId}`, { token: b.token });
    expect(listed.body.data).toEqual([]);
  });

  it("requires authentication on every message route", async () => {
    for (const [method, path] of [
      ["POST", "/api/v1/messages"],
      ["POST", "/api/v1/messages/bulk"],
      ["GET", "/api/v1/messages"],
      ["GET", `/api/v1/messages/${crypto.randomUUID()}`],
      ["POST", `/api/v1/messages/${crypto.randomUUID()}/cancel`],
      ["GET", `/api/v1/batches/${crypto.randomUUID()}`],
    ] as const) {
      const res = await api.call(method, path, method === "POST" ? { body: {} } : {});
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});
