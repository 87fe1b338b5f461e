import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSecret, parseSecretsKey, webhookEndpoints } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { startTestApi, TEST_SECRETS_KEY, type TestApi } from "../../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const key = parseSecretsKey(TEST_SECRETS_KEY);
const hookUrl = () => `https://hooks.example.com/inboxerr/${uniqueSuffix()}`;
const stored = async (id: string) => (await api.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0];

describe("/api/v1/webhook-endpoints", () => {
  it("creates an endpoint showing its secret once, stores the secret sealed, and lists, reads, changes and deletes it", async () => {
    const { token, user } = await api.user();
    const url = hookUrl();
    const created = await api.call("POST", "/api/v1/webhook-endpoints", {
      token,
      body: { url, description: "orders app", events: ["message.delivered", "message.failed", "message.delivered"] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      url,
      description: "orders app",
      events: ["message.delivered", "message.failed"],
      status: "active",
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
      lastSuccessAt: null,
      secretRotatedUntil: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const { secret, ...endpoint } = created.body;
    const row = await stored(endpoint.id);
    expect(row).toMatchObject({ userId: user.id, previousSecret: null });
    expect(row!.secret).not.toContain(secret.slice(6));
    expect(openSecret(key, "webhook_endpoints.secret", row!.secret)).toBe(secret);

    const got = await api.call("GET", `/api/v1/webhook-endpoints/${endpoint.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(endpoint);
    const listed = await api.call("GET", "/api/v1/webhook-endpoints", { token });
    expect(listed.body).toEqual({ data: [endpoint], nextCursor: null });

    const newUrl = hookUrl();
    const patched = await api.call("PATCH", `/api/v1/webhook-endpoints/${endpoint.id}`, { token, body: { url: newUrl, description: null, events: [] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ url: newUrl, description: null, events: [], status: "active" });
    for (const res of [got, listed, patched]) expect(JSON.stringify(res.body)).not.toMatch(/whsec_|v1:/);

    expect((await api.call("DELETE", `/api/v1/webhook-endpoints/${endpoint.id}`, { token })).status).toBe(204);
    expect((await api.call("GET", `/api/v1/webhook-endpoints/${endpoint.id}`, { token })).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/webhook-endpoints/${endpoint.id}`, { token })).status).toBe(404);
    expect(await stored(endpoint.id)).toBeUndefined();
  });

  it("pages the list newest first with a cursor, never repeating or skipping one", async () => {
    const { token } = await api.user();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl() } })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.call("GET", `/api/v1/webhook-endpoints?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((e: { id: string }) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids.reverse());
  });

  it("disables by user and re-enables, clearing the failure record only of a disabled endpoint", async () => {
    const { token } = await api.user();
    const { id } = (await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl() } })).body;
    const patch = (body: object) => api.call("PATCH", `/api/v1/webhook-endpoints/${id}`, { token, body });

    const disabled = await patch({ status: "disabled" });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ status: "disabled", disabledReason: "disabled by user", disabledAt: expect.any(String) });

    // The dispatcher disabled it after days of failures: re-enabling forgets them.
    const failingSince = new Date(Date.now() - 6 * 86_400_000);
    await api.db.db
      .update(webhookEndpoints)
      .set({ disabledReason: "failing for 5 days", failingSince })
      .where(eq(webhookEndpoints.id, id));
    // Disabling a disabled endpoint keeps the dispatcher's reason.
    expect((await patch({ status: "disabled" })).body).toMatchObject({ status: "disabled", disabledReason: "failing for 5 days" });
    const enabled = await patch({ status: "active" });
    expect(enabled.body).toMatchObject({ status: "active", disabledReason: null, disabledAt: null, failingSince: null });

    // An active endpoint that is failing keeps its clock: a PATCH cannot postpone its disabling.
    await api.db.db.update(webhookEndpoints).set({ failingSince }).where(eq(webhookEndpoints.id, id));
    expect((await patch({ status: "active", description: "still failing" })).body).toMatchObject({
      status: "active",
      description: "still failing",
      failingSince: failingSince.toISOString(),
    });
  });

  it("rotates the secret, keeping the old one as the previous secret for 24 hours", async () => {
    const { token } = await api.user();
    const created = await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl() } });
    const before = Date.now();
    const rotated = await api.call("POST", `/api/v1/webhook-endpoints/${created.body.id}/rotate-secret`, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ secret: expect.stringMatching(/^whsec_/), previousSecretExpiresAt: expect.any(String) });
    expect(rotated.body.secret).not.toBe(created.body.secret);
    const expires = Date.parse(rotated.body.previousSecretExpiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 86_400_000 - 5_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 86_400_000 + 5_000);

    const row = await stored(created.body.id);
    expect(openSecret(key, "webhook_endpoints.secret", row!.secret)).toBe(rotated.body.secret);
    expect(openSecret(key, "webhook_endpoints.previous_secret", row!.previousSecret!)).toBe(created.body.secret);
    const got = await api.call("GET", `/api/v1/webhook-endpoints/${created.body.id}`, { token });
    expect(got.body.secretRotatedUntil).toBe(rotated.body.previousSecretExpiresAt);
    expect(JSON.stringify(got.body)).not.toContain("whsec_");

    // A second rotation keeps the secret it replaces, not the first one.
    const again = await api.call("POST", `/api/v1/webhook-endpoints/${created.body.id}/rotate-secret`, { token });
    const after = await stored(created.body.id);
    expect(openSecret(key, "webhook_endpoints.secret", after!.secret)).toBe(again.body.secret);
    expect(openSecret(key, "webhook_endpoints.previous_secret", after!.previousSecret!)).toBe(rotated.body.secret);
  });

  it("refuses bad input with problem+json and changes nothing", async () => {
    const { token, user } = await api.user();
    const count = async () => (await api.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.userId, user.id))).length;

    const unknownType = await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl(), events: ["message.delivered", "message.bounced"] } });
    expect(unknownType.status).toBe(422);
    expect(unknownType.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(unknownType.body).toMatchObject({ code: "unprocessable", errors: [{ path: "events.1", code: "unknown_event_type" }] });
    expect(unknownType.body.errors[0].detail).toContain("message.bounced");

    for (const body of [{ url: 42 }, { description: "no url" }, { url: hookUrl(), secret: "whsec_mine" }, { url: hookUrl(), events: "message.sent" }, { url: `https://x.example/${"a".repeat(2100)}` }]) {
      const res = await api.call("POST", "/api/v1/webhook-endpoints", { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe("validation_failed");
    }
    const notJson = await api.call("POST", "/api/v1/webhook-endpoints", { token, raw: "url=https://x.example", headers: { "content-type": "text/plain" } });
    expect(notJson.status).toBe(415);
    expect(await count()).toBe(0);

    const { id } = (await api.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl(), events: ["message.sent"] } })).body;
    const before = await stored(id);
    for (const [body, status] of [
      [{ events: ["nope"] }, 422],
      [{ status: "paused" }, 400],
      [{ url: "ftp://files.example.com/x" }, 422],
      [{ secret: "x" }, 400],
    ] as const) {
      const res = await api.call("PATCH", `/api/v1/webhook-endpoints/${id}`, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
    expect(await stored(id)).toEqual(before);
    for (const path of ["/api/v1/webhook-endpoints/not-a-uuid", "/api/v1/webhook-endpoints/00000000-0000-4000-8000-000000000000"]) {
      expect((await api.call("GET", path, { token })).status).toBe(404);
    }
    expect((await api.call("GET", "/api/v1/webhook-endpoints?cursor=bogus", { token })).status).toBe(400);
    expect((await api.call("GET", "/api/v1/webhook-endpoints")).status).toBe(401);
  });

  it("answers 503 without SECRETS_KEY, naming it, and stores nothing", async () => {
    const keyless = await startTestApi({ config: { SECRETS_KEY: undefined } });
    try {
      const { token, user } = await keyless.user();
      const res = await keyless.call("POST", "/api/v1/webhook-endpoints", { token, body: { url: hookUrl() } });
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(/SECRETS_KEY/);
      expect(await keyless.db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.userId, user.id))).toEqual([]);
    } finally {
      await keyless.stop();
    }
  });
});
