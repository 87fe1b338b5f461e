import { describe, expect, it } from "vitest";
import type { Message, MessageEvent } from "@inboxerr/db";
import { creationStatus, toTimelineJson } from "./timeline";

const t0 = new Date("2026-12-07T10:00:00.000Z");
const at = (s: number) => new Date(t0.getTime() + s * 1000);

const message = (over: Partial<Message>): Message => ({ createdAt: t0, queuedAt: t0, scheduledAt: null, ...over }) as Message;
const event = (status: MessageEvent["status"], s: number, id = crypto.randomUUID()): MessageEvent =>
  ({ id, status, occurredAt: at(s), payload: null }) as MessageEvent;

describe("creationStatus", () => {
  it("is queued for a message due at once, scheduled for one created for later", () => {
    expect(creationStatus(message({}))).toBe("queued");
    expect(creationStatus(message({ queuedAt: null, scheduledAt: at(3600) }))).toBe("scheduled");
    // A scheduled message the sweeper moved to queued later is still born scheduled.
    expect(creationStatus(message({ queuedAt: at(3600), scheduledAt: at(3600) }))).toBe("scheduled");
  });
});

describe("toTimelineJson", () => {
  it("orders events by the state machine when they share a timestamp (sent and delivered in one webhook batch)", () => {
    const timeline = toTimelineJson(message({}), [event("delivered", 5), event("sent", 5), event("sending", 1)]);
    expect(timeline.map((e) => [e.status, e.implied])).toEqual([
      ["queued", false],
      ["sending", false],
      ["accepted", true],
      ["sent", false],
      ["delivered", false],
    ]);
    expect(timeline[2]!.occurredAt).toBe(at(5).toISOString());
  });

  it("shows a scheduled message moved to queued and claimed, implying nothing", () => {
    const timeline = toTimelineJson(message({ queuedAt: at(3600), scheduledAt: at(3600) }), [event("queued", 3600), event("sending", 3601)]);
    expect(timeline.map((e) => [e.status, e.implied, e.occurredAt])).toEqual([
      ["scheduled", false, t0.toISOString()],
      ["queued", false, at(3600).toISOString()],
      ["sending", false, at(3601).toISOString()],
    ]);
  });
});
