import type { z } from "zod";
import type { Batch, Message, User } from "@inboxerr/db";
import type { UserSchema } from "../schemas/auth";
import type { MessageSchema } from "../schemas/messages";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A `messages` row as clients see it (the `Message` schema of /openapi.json). */
export function toMessageJson(m: Message): z.output<typeof MessageSchema> {
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
  };
}

export function toUserJson(u: Pick<User, "id" | "email" | "name" | "role" | "createdAt">): z.output<typeof UserSchema> {
  return { id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt.toISOString() };
}

export function toBatchJson(b: Batch, counts: Record<string, number>) {
  return { id: b.id, total: b.total, createdAt: b.createdAt.toISOString(), counts };
}
