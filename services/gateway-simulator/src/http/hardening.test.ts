import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, startSimulator } from "../testing/harness";

let sim: Awaited<ReturnType<typeof startSimulator>>;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe("simulator HTTP hardening", () => {
  it("sends security headers on the 3rd-party API, control and ops routes", async () => {
    const answers = [
      await fetch(`${sim.api}/messages/nope`, { headers: { authorization: AUTH } }),
      await fetch(`${sim.url}/simulator/stats`),
      await fetch(`${sim.url}/healthz`),
    ];
    for (const res of answers) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    }
  });

  it("answers a body claiming gzip that is not, and JSON nested 5,000 deep, with 4xx in SMS Gate's error shape", async () => {
    const garbage = await fetch(`${sim.api}/messages`, {
      method: "POST",
      headers: { authorization: AUTH, "content-type": "application/json", "content-encoding": "gzip" },
      body: '{"id":"x"}',
    });
    expect(garbage.status).toBe(415);
    expect(await garbage.json()).toEqual({ message: expect.stringContaining("content encoding") });

    const nested = await fetch(`${sim.api}/messages`, {
      method: "POST",
      headers: { authorization: AUTH, "content-type": "application/json" },
      body: `{"textMessage":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
    });
    expect(nested.status).toBe(400);
    expect(await nested.json()).toEqual({ message: expect.stringContaining("nested deeper") });
  });
});
