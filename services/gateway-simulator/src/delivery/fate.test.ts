import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isPreTransmissionFailure } from "@inboxerr/gateway";
import { FAILURE_REASONS, fateOf, uniformOf } from "./fate";

describe("fateOf", () => {
  it("gives the same fate for the same seed and id, every time", () => {
    const id = "6f1c2d3e-0000-4000-8000-000000000001";
    const first = fateOf("seed-a", id, 0.5);
    for (let i = 0; i < 5; i += 1) expect(fateOf("seed-a", id, 0.5)).toEqual(first);
    expect(uniformOf("seed-a", id)).toBe(uniformOf("seed-a", id));
    expect(uniformOf("seed-a", id)).not.toBe(uniformOf("seed-b", id));
  });

  it("fails about SIMULATOR_FAILURE_RATE of 2,000 ids, with a reason", () => {
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    const fates = ids.map((id) => fateOf("inboxerr", id, 0.1));
    const failed = fates.filter((f) => f.outcome === "failed");
    // Binomial(2000, 0.1): sd ≈ 13.4, so ±60 is beyond 4 sd.
    expect(failed.length).toBeGreaterThan(140);
    expect(failed.length).toBeLessThan(260);
    expect(failed.every((f) => typeof f.reason === "string" && f.reason.length > 0)).toBe(true);
    expect(fates.filter((f) => f.outcome === "delivered").every((f) => f.reason === null)).toBe(true);
  });

  it("never fails at rate 0 and always fails at rate 1", () => {
    const ids = Array.from({ length: 200 }, () => randomUUID());
    expect(ids.every((id) => fateOf("s", id, 0).outcome === "delivered")).toBe(true);
    expect(ids.every((id) => fateOf("s", id, 1).outcome === "failed")).toBe(true);
  });

  it("fails a sent message only for reasons that can follow a transmission, never one that asks for a new attempt", () => {
    // A pre-transmission reason after sms:sent would have Inboxerr send the SMS again.
    expect(FAILURE_REASONS.filter((reason) => isPreTransmissionFailure(reason))).toEqual([]);
    const reasons = new Set(Array.from({ length: 400 }, () => fateOf("s", randomUUID(), 1).reason));
    expect([...reasons].sort()).toEqual([...FAILURE_REASONS].sort());
  });
});
