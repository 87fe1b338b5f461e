import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@inboxerr/db";
import { startTcpProxy, testEnv } from "@inboxerr/testing";
import { signAccessToken } from "./auth/jwt";
import { startTestApi, TEST_JWT_SECRET, type TestApi } from "./testing/harness";

describe("with Redis down", () => {
  let api: TestApi;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(testEnv().redisUrl).port || 6379));
    api = await startTestApi({ config: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
  });
  afterAll(() => api.stop());

  it("still answers a send with 202 within two seconds and leaves the row queued for the sweeper", async () => {
    const { token } = await api.user();
    expect((await api.call("GET", "/readyz")).status).toBe(200);
    await proxy.cut();

    const single = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "still here" } });
    expect(single.status).toBe(202);
    expect(single.ms).toBeLessThan(2_000);
    const bulk = await api.call("POST", "/api/v1/messages/bulk", { token, body: { text: "x", messages: [{ to: "+14155552671" }, { to: "+14155552672" }] } });
    expect(bulk.status).toBe(202);
    expect(bulk.ms).toBeLessThan(2_000);

    const [row] = await api.db.db.select().from(messages).where(eq(messages.id, single.body.id));
    expect(row?.status).toBe("queued");
    const metrics = await api.call("GET", "/metrics");
    expect(metrics.body).toMatch(/inboxerr_enqueue_failures_total\{service="api"\} 3/);
  });

  it("answers /readyz 503 naming redis", async () => {
    const res = await api.call("GET", "/readyz");
    expect(res.status).toBe(503);
    expect(res.body.checks).toMatchObject({ postgres: "ok", redis: expect.stringMatching(/^down/) });
    expect(res.ms).toBeLessThan(2_500);
  });

  it("keeps logins working on the in-process rate-limit fallback", async () => {
    const res = await api.call("POST", "/api/v1/auth/token", { body: { email: "nobody@example.com", password: "whatever" } });
    expect(res.status).toBe(401);
  });
});

describe("with Redis unreachable since boot", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ config: { REDIS_URL: "redis://127.0.0.1:1" }, waitForRedis: false });
  });
  afterAll(() => api.stop());

  it("answers sends 202 at once and cancels 200, leaving the outbox row for the relay", async () => {
    const { token } = await api.user();
    const sent = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    expect(sent.status).toBe(202);
    expect(sent.ms).toBeLessThan(1_000);
    const cancelled = await api.call("POST", `/api/v1/messages/${sent.body.id}/cancel`, { token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.ms).toBeLessThan(1_000);
    expect((await api.call("GET", "/readyz")).body.checks.redis).toMatch(/^down/);
  });
});

describe("with Postgres down", () => {
  let api: TestApi;
  beforeAll(async () => {
    // Port 1 refuses connections: what a stopped Postgres looks like.
    api = await startTestApi({ config: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/inboxerr" } });
  });
  afterAll(() => api.stop());

  it("answers 503 problem+json with Retry-After quickly instead of hanging", async () => {
    const token = signAccessToken(crypto.randomUUID(), TEST_JWT_SECRET, 60);
    const res = await api.call("POST", "/api/v1/messages", { token, body: { to: "+14155552671", text: "x" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.ms).toBeLessThan(3_000);
    const ready = await api.call("GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ postgres: expect.stringMatching(/^down/), redis: "ok" });
  });
});
