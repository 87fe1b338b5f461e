import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe("the api edge", () => {
  it("answers unknown routes with 404 problem+json and a request id", async () => {
    const res = await api.call("GET", "/api/v1/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: "not_found", instance: `urn:request:${res.headers.get("x-request-id")}` });
  });

  it("serves /healthz and /readyz with postgres and redis", async () => {
    expect((await api.call("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect((await api.call("GET", "/readyz")).body).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("exports message counters and the request histogram by route pattern, without phone numbers", async () => {
    const { token } = await api.user();
    await api.call("POST", "/api/v1/messages/bulk", {
      token,
      body: { text: "x", messages: [{ to: "+14155552671" }, { to: "+14155552672" }, { to: "bad" }] },
    });
    const text: string = (await api.call("GET", "/metrics")).body;
    expect(text).toMatch(/inboxerr_messages_accepted_total\{endpoint="bulk",service="api"\} 2/);
    expect(text).toMatch(/inboxerr_messages_rejected_total\{code="invalid_phone",service="api"\} 1/);
    expect(text).toContain("inboxerr_enqueue_failures_total");
    expect(text).toContain('route="/api/v1/messages/bulk",status="202"');
    expect(text).not.toContain("4155552671");
  });
});
