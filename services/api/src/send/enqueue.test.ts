import { describe, expect, it } from "vitest";
import type { ApiDeps } from "../deps";
import { enqueueCommitted } from "./enqueue";
import { ENQUEUE_CHUNK, ENQUEUE_IN_FLIGHT } from "./limits";

/** Just what enqueueCommitted touches; addBulk is the fake under test. */
function fakeDeps(addBulk: (jobs: unknown[]) => Promise<unknown>) {
  const calls: number[] = [];
  let inFlight = 0;
  let peak = 0;
  let failures = 0;
  const deps = {
    redis: { status: "ready" },
    redisTimeoutMs: 200,
    queues: {
      smsSend: {
        addBulk: async (jobs: unknown[]) => {
          calls.push(jobs.length);
          peak = Math.max(peak, ++inFlight);
          try {
            return await addBulk(jobs);
          } finally {
            inFlight--;
          }
        },
      },
    },
    metrics: { enqueueFailures: { inc: (n: number) => (failures += n) } },
    logger: { warn: () => undefined },
  } as unknown as ApiDeps;
  return { deps, calls, peak: () => peak, failures: () => failures };
}

const sends = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `m-${i}`, priority: 0 }));

describe("enqueueCommitted", () => {
  it("sends every job in chunks, never more than ENQUEUE_IN_FLIGHT at once", async () => {
    const f = fakeDeps(() => new Promise((r) => setTimeout(r, 5)));
    expect(await enqueueCommitted(f.deps, sends(ENQUEUE_CHUNK * 4 + 7))).toBe(0);
    expect(f.calls.reduce((a, b) => a + b, 0)).toBe(ENQUEUE_CHUNK * 4 + 7);
    expect(f.peak()).toBe(ENQUEUE_IN_FLIGHT);
  });

  it("after a failure counts the rest as not enqueued without trying them, and never throws", async () => {
    const f = fakeDeps(() => Promise.reject(new Error("redis says no")));
    const total = ENQUEUE_CHUNK * 6;
    expect(await enqueueCommitted(f.deps, sends(total))).toBe(total);
    expect(f.failures()).toBe(total);
    expect(f.calls.length).toBe(ENQUEUE_IN_FLIGHT);
  });
});
