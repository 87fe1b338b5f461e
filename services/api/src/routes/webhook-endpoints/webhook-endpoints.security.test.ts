import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookDeliveries, webhookEndpoints } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { insertDeliveries } from "../../testing/fixtures";
import { startTestApi, type TestApi } from "../../testing/harness";

// Production's policy (both off) on one api, the dev policy (both on, the harness default) on
// the other.
let strict: TestApi;
let dev: TestApi;
beforeAll(async () => {
  [strict, dev] = await Promise.all([
    startTestApi({ config: { WEBHOOK_ALLOW_INSECURE: false, WEBHOOK_ALLOW_PRIVATE_TARGETS: false } }),
    startTestApi(),
  ]);
});
afterAll(() => Promise.all([strict.stop(), dev.stop()]));

const create = (api: TestApi, token: string, url: string) => api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url } });

describe("webhook endpoint URLs (SSRF)", () => {
  it("refuses loopback, private, link-local and metadata targets when private targets are not allowed, naming the reason", async () => {
    const { token, user } = await strict.user();
    for (const [url, reason] of [
      ["https://127.0.0.1/hook", /127\.0\.0\.1 is a loopback address/],
      ["https://localhost:8443/hook", /: localhost resolves to a non-public address \(/],
      ["https://[::1]/hook", /::1 is a loopback address/],
      ["https://10.1.2.3/hook", /private/],
      ["https://169.254.169.254/latest/meta-data", /linkLocal/],
      ["https://[::ffff:127.0.0.1]/hook", /loopback/],
    ] as const) {
      const res = await create(strict, token, url);
      expect(res.status, url).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: "unprocessable", errors: [{ path: "url", code: "unsafe_target" }] });
      expect(res.body.detail, url).toMatch(reason);
      expect(res.body.detail, url).toMatch(/WEBHOOK_ALLOW_PRIVATE_TARGETS/);
    }
    expect(await strict.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.userId, user.id))).toEqual([]);
  });

  it("refuses http when insecure targets are not allowed, and URLs with credentials", async () => {
    const { token } = await strict.user();
    const http = await create(strict, token, "http://8.8.8.8/hook");
    expect(http.status).toBe(422);
    expect(http.body.detail).toMatch(/https.*WEBHOOK_ALLOW_INSECURE/);
    const creds = await create(strict, token, "https://user:pass@8.8.8.8/hook");
    expect(creds.status).toBe(422);
    expect(creds.body.detail).toMatch(/credentials/);
    expect(creds.body.detail).not.toContain("pass@");
    // A public address over https passes without any DNS.
    expect((await create(strict, token, "https://8.8.8.8/hook")).status).toBe(201);
  });

  it("accepts loopback over http where both are allowed (the dev setting)", async () => {
    const { token } = await dev.user();
    const res = await create(dev, token, "http://127.0.0.1:4000/hook");
    expect(res.status).toBe(201);
    expect(res.body.url).toBe("http://127.0.0.1:4000/hook");
  });

  it("checks a changed URL on PATCH, and not an unchanged one", async () => {
    const { token } = await strict.user();
    const created = await create(strict, token, "https://8.8.8.8/hook");
    const id = created.body.id;
    const refused = await strict.call("PATCH", `/api/v1/webhook-endpoints/${id}`, { token, body: { url: "https://127.0.0.1/hook" } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: "url", code: "unsafe_target" })]);
    expect((await strict.call("GET", `/api/v1/webhook-endpoints/${id}`, { token })).body.url).toBe("https://8.8.8.8/hook");

    // An endpoint stored under a laxer policy can still have its other fields changed.
    await strict.db.db.update(webhookEndpoints).set({ url: "http://127.0.0.1/old" }).where(eq(webhookEndpoints.id, id));
    const kept = await strict.call("PATCH", `/api/v1/webhook-endpoints/${id}`, { token, body: { url: "http://127.0.0.1/old", description: "d" } });
    expect(kept.status).toBe(200);
  });
});

describe("tenancy", () => {
  it("hides A's endpoints and deliveries from B, an admin included: 404 on every operation, and nothing changes", async () => {
    const a = await dev.user();
    const created = await create(dev, a.token, `https://hooks.example.com/${uniqueSuffix()}`);
    const endpoint = { id: created.body.id as string, userId: a.user.id };
    const [delivery] = await insertDeliveries(dev.db.db, endpoint, [{ createdAt: new Date("2026-03-01T10:00:00Z"), status: "exhausted", attempts: [{ statusCode: 500 }] }]);
    const [endpointBefore] = await dev.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));

    for (const b of [await dev.user(), await dev.user("admin")]) {
      const e = `/api/v1/webhook-endpoints/${endpoint.id}`;
      const d = `/api/v1/webhook-deliveries/${delivery!.id}`;
      for (const [method, path, body] of [
        ["GET", e],
        ["PATCH", e, { status: "disabled" }],
        ["DELETE", e],
        ["POST", `${e}/rotate-secret`],
        ["POST", `${e}/test`],
        ["POST", `${e}/replay`, { since: "2026-01-01T00:00:00Z" }],
        ["GET", `${e}/deliveries`],
        ["GET", d],
        ["POST", `${d}/retry`],
      ] as const) {
        const res = await dev.call(method, path, { token: b.token, ...(body ? { body } : {}) });
        expect(res.status, `${b.user.role} ${method} ${path}`).toBe(404);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      }
      const listed = await dev.call("GET", "/api/v1/webhook-endpoints", { token: b.token });
      expect(listed.body.data.map((x: { id: string }) => x.id)).not.toContain(endpoint.id);
    }

    expect((await dev.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id)))[0]).toEqual(endpointBefore);
    expect(await dev.db.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id))).toEqual([delivery]);
    // A sees and retries its own.
    expect((await dev.call("POST", `/api/v1/webhook-deliveries/${delivery!.id}/retry`, { token: a.token })).status).toBe(202);
    expect((await dev.db.db.select().from(webhookDeliveries).where(inArray(webhookDeliveries.id, [delivery!.id])))[0]!.status).toBe("pending");
  });
});
