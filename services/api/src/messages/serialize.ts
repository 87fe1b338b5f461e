import type { z } from "zod";
import type { MessageAttempt, MessageStatus, User } from "@inboxerr/db";
import type { UserSchema } from "../schemas/auth";
import type { AttemptSchema, MessageSchema } from "../schemas/messages";
import type { MessageRow } from "./query";

const MAY_WAIT: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued", "sending", "accepted"]);

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A `messages` row as clients see it (the `Message` schema of /openapi.json). */
export function toMessageJson({ message: m, from, attemptCount }: MessageRow): z.output<typeof MessageSchema> {
  return {
    id: m.id,
    to: m.to,
    text: m.text,
    status: m.status,
    segments: m.segments,
    encoding: m.encoding,
    batchId: m.batchId,
    customId: m.customId,
    priority: m.priority,
    scheduledAt: iso(m.scheduledAt),
    validUntil: iso(m.validUntil),
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    acceptedAt: iso(m.acceptedAt),
    sentAt: iso(m.sentAt),
    deliveredAt: iso(m.deliveredAt),
    failedAt: iso(m.failedAt),
    error: m.error,
    senderId: m.senderId,
    from,
    attemptCount,
    // Only a message that may still get a new attempt waits (ADR 0019), whatever a worker left
    // in the column.
    waitingReason: MAY_WAIT.has(m.status) ? m.waitingReason : null,
  };
}

export function toAttemptJson(a: MessageAttempt): z.output<typeof AttemptSchema> {
  return {
    id: a.id,
    n: a.n,
    senderId: a.senderId,
    status: a.status,
    error: a.error,
    createdAt: a.createdAt.toISOString(),
    acceptedAt: iso(a.acceptedAt),
    sentAt: iso(a.sentAt),
    deliveredAt: iso(a.deliveredAt),
    failedAt: iso(a.failedAt),
    cancelledAt: iso(a.cancelledAt),
  };
}

export function toUserJson(u: Pick<User, "id" | "email" | "name" | "role" | "createdAt">): z.output<typeof UserSchema> {
  return { id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt.toISOString() };
}
