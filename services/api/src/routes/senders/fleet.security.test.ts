import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { senders } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

async function accountWithSender(token: string, shared = false) {
  const account = await api.call("POST", "/api/v1/gateway-accounts", {
    token,
    body: { name: `a-${uniqueSuffix()}`, baseUrl: "https://gw.example/3rdparty/v1", username: "u", password: "p", shared },
  });
  expect(account.status).toBe(201);
  const [sender] = await api.db.db.insert(senders).values({ accountId: account.body.id, deviceId: `d-${uniqueSuffix()}` }).returning();
  return { accountId: account.body.id as string, senderId: sender!.id };
}

describe("fleet tenant isolation", () => {
  it("hides a user's private accounts and senders from every other user, admins included", async () => {
    const a = await api.user();
    const b = await api.user();
    const admin = await api.user("admin");
    const { accountId, senderId } = await accountWithSender(a.token);

    for (const other of [b, admin]) {
      const accounts = await api.call("GET", "/api/v1/gateway-accounts", { token: other.token });
      expect(accounts.body.data.map((x: { id: string }) => x.id)).not.toContain(accountId);
      const list = await api.call("GET", "/api/v1/senders", { token: other.token });
      expect(list.body.data.map((x: { id: string }) => x.id)).not.toContain(senderId);
      expect((await api.call("GET", `/api/v1/senders?accountId=${accountId}`, { token: other.token })).body.data).toEqual([]);
      for (const [method, path, body] of [
        ["GET", `/api/v1/gateway-accounts/${accountId}`, undefined],
        ["PATCH", `/api/v1/gateway-accounts/${accountId}`, { name: "stolen" }],
        ["DELETE", `/api/v1/gateway-accounts/${accountId}`, undefined],
        ["GET", `/api/v1/senders/${senderId}`, undefined],
        ["PATCH", `/api/v1/senders/${senderId}`, { status: "paused" }],
        ["GET", `/api/v1/senders/${senderId}/events`, undefined],
      ] as const) {
        const res = await api.call(method, path, { token: other.token, ...(body ? { body } : {}) });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.code).toBe("not_found");
      }
    }
    expect((await api.call("GET", `/api/v1/senders/${senderId}`, { token: a.token })).body.status).toBe("active");
  });

  it("shows shared senders to every user read-only; admins change them", async () => {
    const admin = await api.user("admin");
    const user = await api.user();
    const { senderId } = await accountWithSender(admin.token, true);
    const seen = await api.call("GET", `/api/v1/senders/${senderId}`, { token: user.token });
    expect(seen.body).toMatchObject({ id: senderId, shared: true });
    const denied = await api.call("PATCH", `/api/v1/senders/${senderId}`, { token: user.token, body: { dailyCap: 1 } });
    expect(denied.status).toBe(403);
    expect((await api.call("PATCH", `/api/v1/senders/${senderId}`, { token: admin.token, body: { dailyCap: 1 } })).body.limits.dailyCap).toBe(1);
  });

  it("requires authentication on every fleet route", async () => {
    const id = crypto.randomUUID();
    for (const [method, path] of [
      ["POST", "/api/v1/gateway-accounts"],
      ["GET", "/api/v1/gateway-accounts"],
      ["GET", `/api/v1/gateway-accounts/${id}`],
      ["PATCH", `/api/v1/gateway-accounts/${id}`],
      ["DELETE", `/api/v1/gateway-accounts/${id}`],
      ["GET", "/api/v1/senders"],
      ["GET", `/api/v1/senders/${id}`],
      ["PATCH", `/api/v1/senders/${id}`],
      ["GET", `/api/v1/senders/${id}/events`],
    ] as const) {
      const res = await api.call(method, path, method === "POST" || method === "PATCH" ? { body: {} } : {});
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});
