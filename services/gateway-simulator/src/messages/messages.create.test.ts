import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSimulator } from "../testing/harness";

let sim: Awaited<ReturnType<typeof startSimulator>>;

beforeAll(async () => {
  // A long latency keeps messages Pending while these tests look at them.
  sim = await startSimulator({ latencyMs: 60_000, deviceId: "sim-device-0000000001" });
});
afterAll(() => sim.close());
beforeEach(() => sim.sim.reset());

const body = (id: string, extra: object = {}) => ({
  id,
  textMessage: { text: "Your code is 1234" },
  phoneNumbers: ["+14155550100"],
  withDeliveryReport: true,
  ...extra,
});

describe("POST /3rdparty/v1/messages", () => {
  it("accepts a message with 202, a Location header and SMS Gate's MessageState body", async () => {
    const res = await sim.call("POST", "/messages", body("6f1c2d3e-0000-4000-8000-000000000001"));
    expect(res.status).toBe(202);
    expect(res.headers.get("location")).toBe("/3rdparty/v1/messages/6f1c2d3e-0000-4000-8000-000000000001");
    expect(res.body).toEqual({
      id: "6f1c2d3e-0000-4000-8000-000000000001",
      deviceId: "sim-device-0000000001",
      state: "Pending",
      isHashed: false,
      isEncrypted: false,
      recipients: [{ phoneNumber: "+14155550100", state: "Pending" }],
      states: {},
      createdAt: expect.any(String),
    });
  });

  it("answers 409 for an id it already holds and counts both requests for that id", async () => {
    expect((await sim.call("POST", "/messages", body("dup-1"))).status).toBe(202);
    const again = await sim.call("POST", "/messages", body("dup-1"));
    expect(again).toMatchObject({ status: 409, body: { message: "duplicate id" } });
    expect(sim.sim.stats()).toEqual({
      totalSends: 1,
      duplicates: 1,
      sendsById: { "dup-1": 2 },
      outcomes: { delivered: 0, failed: 0 },
      devices: {
        "sim-device-0000000001": { sends: 1, delivered: 0, failed: 0, limitFailed: 0, sims: { "1": { sends: 1, delivered: 0, failed: 0, limitFailed: 0 } } },
      },
    });
  });

  it("refuses a device the account does not have with SMS Gate's 400", async () => {
    const res = await sim.call("POST", "/messages", body("no-such-device", { deviceId: "phone-a" }));
    expect(res).toMatchObject({ status: 400, body: { message: "failed to select device: record not found" } });
    expect(sim.sim.stats().totalSends).toBe(0);
  });

  it("takes the legacy /message path with a plain `message` string, and the private-server prefix", async () => {
    const legacy = await sim.call("POST", "/message", { id: "legacy-1", message: "hi", phoneNumbers: ["79990001234"] });
    expect(legacy).toMatchObject({ status: 202, body: { id: "legacy-1", recipients: [{ phoneNumber: "+79990001234" }] } });
    const res = await fetch(`${sim.url}/api/3rdparty/v1/messages`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("inboxerr:sim-password").toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify(body("private-1")),
    });
    expect(res.status).toBe(202);
  });

  it("generates an id when the request has none", async () => {
    const res = await sim.call("POST", "/messages", { textMessage: { text: "x" }, phoneNumbers: ["+14155550100"] });
    expect(res.status).toBe(202);
    expect((res.body as { id: string }).id).toMatch(/^[A-Za-z0-9_-]{21}$/);
  });

  it("refuses bad credentials with 401 and records nothing", async () => {
    const res = await sim.call("POST", "/messages", body("auth-1"), { authorization: "Basic aW5ib3hlcnI6d3Jvbmc=" });
    expect(res).toMatchObject({ status: 401, body: { message: "Unauthorized" } });
    const none = await sim.call("GET", "/webhooks", undefined, { authorization: "" });
    expect(none.status).toBe(401);
    expect(sim.sim.stats().totalSends).toBe(0);
  });

  it.each([
    ["no recipients", { textMessage: { text: "x" }, phoneNumbers: [] }, /validation failed: phoneNumbers/],
    ["101 recipients", { textMessage: { text: "x" }, phoneNumbers: Array(101).fill("+14155550100") }, /phoneNumbers/],
    ["no content", { phoneNumbers: ["+14155550100"] }, /must specify exactly one of/],
    ["two contents", { message: "a", textMessage: { text: "b" }, phoneNumbers: ["+14155550100"] }, /conflict fields/],
    ["ttl and validUntil", body("x", { ttl: 60, validUntil: "2030-01-01T00:00:00Z" }), /conflict fields: ttl and validUntil/],
    ["an invalid phone", body("x", { phoneNumbers: ["+1", "12"] }), /can't use phone in row 1: invalid phone number/],
    ["priority out of range", body("x", { priority: 200 }), /validation failed: priority/],
    ["an id longer than 36", body("x".repeat(37)), /validation failed: id/],
  ])("answers 400 with a message for %s", async (_name, payload, message) => {
    const res = await sim.call("POST", "/messages", payload);
    expect(res.status).toBe(400);
    expect((res.body as { message: string }).message).toMatch(message);
    expect(sim.sim.stats().totalSends).toBe(0);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await fetch(`${sim.api}/messages`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("inboxerr:sim-password").toString("base64")}`, "content-type": "application/json" },
      body: "{nope",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/^failed to parse body/) });
  });
});

describe("GET /3rdparty/v1/messages/:id", () => {
  it("returns the message state, and 404 for an unknown id", async () => {
    await sim.call("POST", "/messages", body("get-1"));
    expect(await sim.call("GET", "/messages/get-1")).toMatchObject({ status: 200, body: { id: "get-1", state: "Pending" } });
    expect(await sim.call("GET", "/messages/nope")).toMatchObject({ status: 404, body: { message: "message not found" } });
  });
});
