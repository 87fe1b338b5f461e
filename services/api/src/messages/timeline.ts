import type { z } from "zod";
import { skippedStatuses, type Message, type MessageEvent, type MessageStatus } from "@inboxerr/db";
import type { MessageEventSchema } from "../schemas/messages";

type Entry = z.output<typeof MessageEventSchema>;

// Every transition moves forward in this order (DESIGN "Message states"; ADR 0003 for
// scheduled → queued), so it is the order the events were written in, even when two share a
// timestamp (a webhook batch moving a message to sent and delivered in one statement).
const ORDER: Record<MessageStatus, number> = {
  scheduled: 0,
  queued: 1,
  sending: 2,
  accepted: 3,
  sent: 4,
  delivered: 5,
  failed: 5,
  cancelled: 5,
  expired: 5,
};

/**
 * The status a message was born in. Creation writes no event (ADR 0002); the api stamps
 * `queued_at` with the creation's own time for a message due at once and leaves it null for
 * a scheduled one (it is stamped later if the message ever moves to queued).
 */
export function creationStatus(m: Pick<Message, "createdAt" | "queuedAt" | "scheduledAt">): "scheduled" | "queued" {
  const queuedAtCreation = m.queuedAt !== null && m.queuedAt.getTime() <= m.createdAt.getTime();
  return m.scheduledAt !== null && !queuedAtCreation ? "scheduled" : "queued";
}

/**
 * A message's timeline, oldest first: its creation (derived: `id` null, at `createdAt`), then
 * each stored transition; before a transition that skipped states (a delivery report that
 * overtook the sent report), the states it implies, `implied: true`, at its time.
 */
export function toTimelineJson(m: Message, events: readonly MessageEvent[]): Entry[] {
  const from0 = creationStatus(m);
  const timeline: Entry[] = [{ id: null, status: from0, occurredAt: m.createdAt.toISOString(), payload: null, implied: false }];
  let from: MessageStatus = from0;
  const ordered = [...events].sort((a, b) => ORDER[a.status] - ORDER[b.status]);
  for (const e of ordered) {
    const occurredAt = e.occurredAt.toISOString();
    for (const status of skippedStatuses(from, e.status)) timeline.push({ id: null, status, occurredAt, payload: null, implied: true });
    timeline.push({ id: e.id, status: e.status, occurredAt, payload: e.payload ?? null, implied: false });
    from = e.status;
  }
  return timeline;
}
