import { waitFor } from "@inboxerr/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AUTH, startSimulator } from "./testing/harness";

// Input no real client sends, answered like any other bad request: a 4xx with SMS Gate's
// `{"message"}` body, never a 500, and never a wrong state behind a 2xx.

let sim: Awaited<ReturnType<typeof startSimulator>>;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
});
afterAll(() => sim.close());
beforeEach(() => sim.sim.reset());

const send = (extra: object) => sim.call("POST", "/messages", { textMessage: { text: "x" }, phoneNumbers: ["+14155550100"], ...extra });

describe("hostile input to the simulator", () => {
  it.each([
    ["GET", "/3rdparty/v1/messages/%ZZ"],
    ["GET", "/3rdparty/v1/message/%E0%A4%A"],
    ["DELETE", "/3rdparty/v1/webhooks/%ZZ"],
  ])("answers %s %s (bad percent-encoding) with 400 and SMS Gate's error body", async (method, path) => {
    const res = await fetch(`${sim.url}${path}`, { method, headers: { authorization: AUTH } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: expect.stringMatching(/^invalid path: /) });
  });

  it.each([
    ["malformed JSON", "{"],
    ["JSON null", "null"],
    ["an array nested 100,000 deep", "[".repeat(100_000) + "]".repeat(100_000)],
    ["wrong types", JSON.stringify({ message: 5, phoneNumbers: "x" })],
    ["101 recipients", JSON.stringify({ message: "x", phoneNumbers: Array.from({ length: 101 }, () => "+14155550100") })],
    ["200,000 recipients", JSON.stringify({ message: "x", phoneNumbers: Array.from({ length: 200_000 }, () => "+14155550100") })],
    ["a ttl past any date", JSON.stringify({ message: "x", phoneNumbers: ["+14155550100"], ttl: 1e300 })],
  ])("answers a send with %s with 400 and records nothing", async (_name, body) => {
    const res = await fetch(`${sim.api}/messages`, { method: "POST", headers: { authorization: AUTH, "content-type": "application/json" }, body });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: expect.any(String) });
    expect(sim.sim.stats().totalSends).toBe(0);
  });

  it('counts a message whose id is "__proto__" in sendsById like any other', async () => {
    expect((await send({ id: "__proto__" })).status).toBe(202);
    expect((await send({ id: "__proto__" })).status).toBe(409);
    expect(Object.entries(sim.sim.stats().sendsById)).toEqual([["__proto__", 2]]);
    const res = await fetch(`${sim.url}/simulator/stats`);
    expect(Object.entries(((await res.json()) as { sendsById: object }).sendsById)).toEqual([["__proto__", 2]]);
  });

  it("holds a message scheduled 40 days out instead of sending it at once (setTimeout's 24.8-day limit)", async () => {
    const later = new Date(Date.now() + 40 * 24 * 3600 * 1000).toISOString();
    expect((await send({ id: "far-future", scheduleAt: later })).status).toBe(202);
    expect((await send({ id: "now" })).status).toBe(202);
    // An overflowing timer fires after 1 ms, before this one settles.
    await waitFor(async () => ((await sim.call("GET", "/messages/now")).body as { state: string }).state === "Delivered");
    expect(((await sim.call("GET", "/messages/far-future")).body as { state: string }).state).toBe("Pending");
    expect(sim.sim.deliveries().scheduled).toBe(1);
  });
});
