import { describe, expect, it } from "vitest";
import type { MessageEventJob } from "@inboxerr/contracts";
import { foldBuckets, minuteOf } from "./fold";

const U1 = "00000000-0000-4000-8000-000000000001";
const U2 = "00000000-0000-4000-8000-000000000002";
const ev = (userId: string, status: MessageEventJob["status"], occurredAt: string, latencyMs: number | null = 100): MessageEventJob => ({
  eventId: "00000000-0000-4000-8000-0000000000ff",
  messageId: "00000000-0000-4000-8000-0000000000ee",
  userId,
  status,
  occurredAt,
  latencyMs,
});

describe("foldBuckets", () => {
  it("buckets by the UTC minute of the server-side time, whatever offset the string carries", () => {
    expect(minuteOf("2024-06-22T15:46:59.999+07:00")).toBe("2024-06-22T08:46:00.000Z");
    expect(minuteOf("2024-06-22T08:47:00.000Z")).toBe("2024-06-22T08:47:00.000Z");
  });

  it("sums count and latency per user, minute and status, skipping missing latencies", () => {
    const deltas = foldBuckets([
      ev(U1, "delivered", "2024-06-22T08:46:01Z", 100),
      ev(U1, "delivered", "2024-06-22T08:46:59Z", null),
      ev(U1, "failed", "2024-06-22T08:46:30Z", 40),
      ev(U1, "delivered", "2024-06-22T08:47:00Z", 7),
      ev(U2, "delivered", "2024-06-22T08:46:10Z", 5),
    ]);
    expect(deltas).toEqual([
      { userId: U1, bucketStart: "2024-06-22T08:46:00.000Z", status: "delivered", count: 2, latencyMsSum: 100 },
      { userId: U1, bucketStart: "2024-06-22T08:46:00.000Z", status: "failed", count: 1, latencyMsSum: 40 },
      { userId: U1, bucketStart: "2024-06-22T08:47:00.000Z", status: "delivered", count: 1, latencyMsSum: 7 },
      { userId: U2, bucketStart: "2024-06-22T08:46:00.000Z", status: "delivered", count: 1, latencyMsSum: 5 },
    ]);
  });
});
