import type { z } from "zod";
import type { MessageAttempt, User } from "@inboxerr/db";
import { toMessageJson as sharedToMessageJson, type MessageRow } from "@inboxerr/webhooks";
import type { UserSchema } from "../schemas/auth";
import type { AttemptSchema, MessageSchema } from "../schemas/messages";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

// One implementation of the message as clients see it, shared with the webhook-dispatcher's
// `data` (ADR 0023); the api's schema must still describe it, which this assignment checks.
export const toMessageJson: (row: MessageRow) => z.output<typeof MessageSchema> = sharedToMessageJson;

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
