import { describe, expect, it } from "vitest";
import { EVENT_JOB_ERROR_MAX_CHARS, messageEventJobSchema, toEventJob, type OutboxEvent } from "./queues";

const event: OutboxEvent = {
  id: "0b7e1f4c-3c4f-4a4e-9a53-6f1f0e2d9a11",
  messageId: "5d0c6b1e-8f7a-4f0e-b1a4-2b9c3d4e5f60",
  userId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
  status: "failed",
  occurredAt: new Date("2026-01-02T03:04:05.000Z"),
  latencyMs: 12.4,
};

describe("outbox event jobs", () => {
  it("carry the sender and a failed event's reason, cut by code points", () => {
    const senderId = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b";
    const job = toEventJob({ ...event, senderId, error: `😀${"x".repeat(300)}` });
    expect(job).toMatchObject({ senderId, latencyMs: 12 });
    expect([...job.error!]).toHaveLength(EVENT_JOB_ERROR_MAX_CHARS);
    expect(job.error!.startsWith("😀x")).toBe(true);
    expect(toEventJob({ ...event, status: "sent", senderId, error: "kept on the message only" }).error).toBeNull();
  });

  it("parse without senderId and error: jobs from publishers before them stay valid", () => {
    const { senderId: _s, error: _e, ...old } = toEventJob(event);
    const parsed = messageEventJobSchema.parse(old);
    expect(parsed.senderId ?? null).toBeNull();
    expect(parsed.error ?? null).toBeNull();
  });
});
