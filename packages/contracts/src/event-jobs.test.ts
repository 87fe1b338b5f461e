import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readEventJob } from "./event-jobs";
import type { MessageEventJob } from "./queues";

describe("readEventJob", () => {
  const good = (): MessageEventJob => ({ eventId: randomUUID(), messageId: randomUUID(), userId: randomUUID(), status: "delivered", occurredAt: new Date().toISOString(), latencyMs: 3 });

  it("reads a batch, reporting a bad event by its index instead of failing the rest", () => {
    const [a, b] = [good(), good()];
    const read = readEventJob({ events: [a, { ...good(), status: "teleported" }, b] });
    expect(read).toMatchObject({ ok: true, batch: true, events: [a, b], invalid: [{ index: 1 }] });
    expect(read.ok && read.invalid[0]!.detail).toMatch(/^status: /);
  });

  it("reads the single event of a pre-0024 job", () => {
    const e = good();
    expect(readEventJob(e)).toEqual({ ok: true, batch: false, events: [e], invalid: [] });
  });

  it("refuses data that is neither shape", () => {
    expect(readEventJob({ events: "many" })).toMatchObject({ ok: false, detail: expect.stringMatching(/^events: /) as unknown });
    expect(readEventJob({ ...good(), status: "teleported" })).toMatchObject({ ok: false, detail: expect.stringMatching(/^status: /) as unknown });
    expect(readEventJob(null)).toMatchObject({ ok: false });
  });
});
