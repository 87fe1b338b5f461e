import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../testing/harness";
import { createThrottle } from "./throttle";

describe("rate limit", () => {
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  afterEach(() => sim?.close());

  it("answers beyond SIMULATOR_RATE_LIMIT with alternating 429 Retry-After and 503 QueueLimitExceeded, recording no send", async () => {
    // A frozen clock: on a loaded machine real time between requests would refill tokens.
    let now = 0;
    sim = await startSimulator({ rateLimit: 5, latencyMs: 60_000, throttleClock: () => now });
    const send = (i: number) => sim!.call("POST", "/messages", { id: `rl-${i}`, textMessage: { text: "x" }, phoneNumbers: ["+14155550100"] });
    const results = [];
    for (let i = 0; i < 9; i += 1) results.push(await send(i));
    expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 429, 503, 429, 503]);
    const refused = results.slice(5);
    const tooMany = refused.find((r) => r.status === 429)!;
    expect(tooMany.headers.get("retry-after")).toBe("1");
    expect(refused.find((r) => r.status === 503)!.body).toEqual({
      error: "QueueLimitExceeded",
      message: "queue limits exceeded: too many pending messages: 5 / 5",
    });
    const stats = sim.sim.stats();
    expect(stats.totalSends).toBe(5);
    expect(Object.keys(stats.sendsById)).toEqual(["rl-0", "rl-1", "rl-2", "rl-3", "rl-4"]);

    // 200 ms buys one token at 5/s, and only one.
    now += 200;
    expect((await send(9)).status).toBe(202);
    expect((await send(10)).status).toBe(429);
  });

  it("never throttles when the limit is 0", async () => {
    sim = await startSimulator({ rateLimit: 0, latencyMs: 60_000 });
    for (let i = 0; i < 20; i += 1) {
      const res = await sim.call("POST", "/messages", { textMessage: { text: "x" }, phoneNumbers: ["+14155550100"] });
      expect(res.status).toBe(202);
    }
  });
});

describe("createThrottle", () => {
  it("refills continuously up to one second's worth", () => {
    let now = 0;
    const t = createThrottle(10, () => now);
    for (let i = 0; i < 10; i += 1) expect(t.take()).toBe(true);
    expect(t.take()).toBe(false);
    now += 100; // 100 ms buys one token at 10/s
    expect(t.take()).toBe(true);
    expect(t.take()).toBe(false);
    now += 60_000; // idle time does not bank more than the bucket holds
    for (let i = 0; i < 10; i += 1) expect(t.take()).toBe(true);
    expect(t.take()).toBe(false);
    expect(t.refusals()).toBe(3);
  });
});
