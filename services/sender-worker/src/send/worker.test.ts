import { describe, expect, it } from "vitest";
import { limiterFor } from "./worker";

describe("limiterFor", () => {
  it("splits a per-second limit into tenth-of-a-second windows without exceeding it", () => {
    expect(limiterFor(50)).toEqual({ max: 5, duration: 100 });
    expect(limiterFor(1_000)).toEqual({ max: 100, duration: 100 });
    for (const rate of [1, 3, 7, 15, 50, 99, 250, 1_234]) {
      const { max, duration } = limiterFor(rate);
      expect(max).toBeGreaterThanOrEqual(1);
      expect((max * 1_000) / duration).toBeLessThanOrEqual(rate);
      // ... and not by more than a rounding step.
      expect((max * 1_000) / duration).toBeGreaterThan(rate * 0.95);
    }
  });

  it("still installs a limiter when there is no cap, one that never binds (manual throttling needs it)", () => {
    expect(limiterFor(0).max).toBeGreaterThanOrEqual(1_000_000);
  });
});
