// Test-only queries: what a user (or an operator) would look at to judge an outcome.
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { messageEvents, messages, type Db, type MessageStatus } from "@inboxerr/db";

export async function statusCounts(db: Db, userId: string): Promise<Partial<Record<MessageStatus, number>>> {
  const rows = await db.select({ status: messages.status, n: count() }).from(messages).where(eq(messages.userId, userId)).groupBy(messages.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Resolves true once every message of the user is in `status` (for waitFor). */
export async function allIn(db: Db, userId: string, status: MessageStatus, total: number): Promise<boolean> {
  const [row] = await db
    .select({ n: count() })
    .from(messages)
    .where(and(eq(messages.userId, userId), eq(messages.status, status)));
  return (row?.n ?? 0) === total;
}

export async function messageRow(db: Db, id: string) {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  if (!row) throw new Error(`no message ${id}`);
  return row;
}

export async function eventsOf(db: Db, ids: string[]) {
  return db.select().from(messageEvents).where(inArray(messageEvents.messageId, ids)).orderBy(messageEvents.occurredAt);
}

/** Pretends the row was last touched `seconds` ago (a lost job, a dead worker). */
export async function age(db: Db, ids: string[], seconds: number): Promise<void> {
  await db
    .update(messages)
    .set({ updatedAt: sql`now() - make_interval(secs => ${seconds})` })
    .where(inArray(messages.id, ids));
}
