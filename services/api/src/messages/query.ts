import { eq, sql, type SQL } from "drizzle-orm";
import { messages, senders, type DbOrTx, type Message } from "@inboxerr/db";

/**
 * What a message is shown with besides its own row: the number it went from (read through
 * `sender_id`, so a number moved to another SIM is not copied stale into every message, ADR
 * 0017) and how many attempts it has had. The count is a correlated subquery over the
 * `(message_id, n)` unique index: one query per page, no N+1. Select these `from(messages)`
 * with `.leftJoin(senders, senderOfMessage)`.
 */
export const messageRowFields = {
  message: messages,
  from: senders.phoneNumber,
  attemptCount: sql<number>`(select count(*)::int from message_attempts a where a.message_id = ${messages.id})`.as("attempt_count"),
};

export const senderOfMessage = eq(senders.id, messages.senderId);

/** A message as toMessageJson takes it. */
export type MessageRow = { message: Message; from: string | null; attemptCount: number };

/** One message by id (ownership is the caller's `where`), as toMessageJson takes it. */
export async function loadMessageRow(db: DbOrTx, where: SQL | undefined): Promise<MessageRow | undefined> {
  const [row] = await db.select(messageRowFields).from(messages).leftJoin(senders, senderOfMessage).where(where);
  return row;
}
