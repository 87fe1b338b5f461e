import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "@inboxerr/db";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("POST/GET /api/v1/api-keys", () => {
  it("shows a new key once, stores only its SHA-256, and lists keys without secrets", async () => {
    const { token, user } = await api.user();
    const created = await api.call("POST", "/api/v1/api-keys", { token, body: { name: "crm" } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: "crm",
      prefix: expect.stringMatching(/^ibx_[0-9a-f]{12}$/),
      key: expect.stringMatching(/^ibx_[0-9a-f]{12}_[\w-]{43}$/),
      createdAt: expect.any(String),
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(created.body.key.startsWith(`${created.body.prefix}_`)).toBe(true);

    const [row] = await api.db.db.select().from(apiKeys).where(eq(apiKeys.userId, user.id));
    expect(row?.keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(created.body.key);

    const list = await api.call("GET", "/api/v1/api-keys", { token });
    expect(list.body.data).toEqual([{ ...created.body, key: undefined }].map(({ key: _key, ...rest }) => rest));
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
  });

  it("authenticates requests through X-API-Key and records its use", async () => {
    const { token, user } = await api.user();
    const { body } = await api.call("POST", "/api/v1/api-keys", { token, body: { name: "ci" } });
    const me = await api.call("GET", "/api/v1/auth/me", { apiKey: body.key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, authMethod: "api_key" });
    const sent = await api.call("POST", "/api/v1/messages", { apiKey: body.key, body: { to: "+14155552671", text: "via key" } });
    expect(sent.status).toBe(202);
    const list = await api.call("GET", "/api/v1/api-keys", { apiKey: body.key });
    expect(list.body.data[0].lastUsedAt).toEqual(expect.any(String));
  });

  it("rejects a malformed or unknown key with 401", async () => {
    for (const key of ["nope", `ibx_000000000000_${"A".repeat(43)}`]) {
      const res = await api.call("GET", "/api/v1/auth/me", { apiKey: key });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});
