import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("DELETE /api/v1/api-keys/:id", () => {
  it("revokes a key: the next request with it gets 401, and the list shows when", async () => {
    const { token } = await api.user();
    const { body: key } = await api.call("POST", "/api/v1/api-keys", { token, body: { name: "old" } });
    expect((await api.call("GET", "/api/v1/auth/me", { apiKey: key.key })).status).toBe(200);

    expect((await api.call("DELETE", `/api/v1/api-keys/${key.id}`, { token })).status).toBe(204);
    const denied = await api.call("GET", "/api/v1/auth/me", { apiKey: key.key });
    expect(denied.status).toBe(401);
    expect(denied.body.detail).toMatch(/revoked/);
    const list = await api.call("GET", "/api/v1/api-keys", { token });
    expect(list.body.data[0]).toMatchObject({ id: key.id, revokedAt: expect.any(String) });
    // Revoking again is a no-op that keeps the first revocation time.
    expect((await api.call("DELETE", `/api/v1/api-keys/${key.id}`, { token })).status).toBe(204);
    expect((await api.call("GET", "/api/v1/api-keys", { token })).body.data[0].revokedAt).toBe(list.body.data[0].revokedAt);
  });

  it("answers 404 for another user's key and leaves it working", async () => {
    const a = await api.user();
    const b = await api.user();
    const { body: key } = await api.call("POST", "/api/v1/api-keys", { token: a.token, body: { name: "a's" } });
    expect((await api.call("DELETE", `/api/v1/api-keys/${key.id}`, { token: b.token })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/api-keys", { token: b.token })).body.data).toEqual([]);
    expect((await api.call("GET", "/api/v1/auth/me", { apiKey: key.key })).status).toBe(200);
  });
});
