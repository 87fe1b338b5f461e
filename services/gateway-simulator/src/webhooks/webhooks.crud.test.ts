import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../testing/harness";

let sim: Awaited<ReturnType<typeof startSimulator>>;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe("webhook registration", () => {
  it("registers (201), lists, replaces by id and deletes (204)", async () => {
    const created = await sim.call("POST", "/webhooks", { url: "https://example.com/a", event: "sms:sent" });
    expect(created.status).toBe(201);
    const hook = created.body as { id: string };
    expect(hook).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{21}$/), deviceId: null, url: "https://example.com/a", event: "sms:sent" });

    const fixed = await sim.call("POST", "/webhooks", { id: "wh-1", url: "http://127.0.0.1:3001/h", event: "sms:delivered", deviceId: "dev-1" });
    expect(fixed).toMatchObject({ status: 201, body: { id: "wh-1", deviceId: "dev-1" } });
    // Same id again: replaced, not duplicated (boot-time registration is idempotent).
    await sim.call("POST", "/webhooks", { id: "wh-1", url: "http://127.0.0.1:3001/h2", event: "sms:delivered" });

    const list = await sim.call("GET", "/webhooks");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([
      hook,
      { id: "wh-1", deviceId: null, url: "http://127.0.0.1:3001/h2", event: "sms:delivered" },
    ]);

    const del = await fetch(`${sim.api}/webhooks/wh-1`, {
      method: "DELETE",
      headers: { authorization: `Basic ${Buffer.from("inboxerr:sim-password").toString("base64")}` },
    });
    expect(del.status).toBe(204);
    expect(await sim.call("GET", "/webhooks")).toMatchObject({ body: [hook] });
    // Deleting again is not an error.
    expect((await sim.call("DELETE", "/webhooks/wh-1")).status).toBe(204);
  });

  it("refuses an unknown event or a non-http URL with 400", async () => {
    const badEvent = await sim.call("POST", "/webhooks", { url: "https://example.com/a", event: "sms:exploded" });
    expect(badEvent).toMatchObject({ status: 400, body: { message: "validation failed: event: invalid event type" } });
    const badUrl = await sim.call("POST", "/webhooks", { url: "ftp://example.com/a", event: "sms:sent" });
    expect(badUrl.status).toBe(400);
  });
});
