// Test-only queries: what a user (or an operator) would look at to judge an outcome.
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { messageEvents, messages, type Db, type DbHandle, type MessageStatus } from "@inboxerr/db";
import { waitFor } from "@inboxerr/testing";

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

/**
 * Locks a message row in a transaction of its own, so a test can make a writer wait on it,
 * change the row meanwhile (another writer's move landing between that writer's read and its
 * update), then let it go: its UPDATE re-checks its WHERE against the committed row.
 */
export async function lockRow(pool: DbHandle["pool"], id: string) {
  const client = await pool.connect();
  await client.query("begin");
  await client.query("select 1 from messages where id = $1 for update", [id]);
  const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
  const pid = rows[0]!.pid;
  return {
    /** Resolves once another session is waiting for this lock. */
    waiter: () =>
      waitFor(
        async () => (await pool.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))", [pid])).rows[0]!.n > 0,
        { message: "a writer waiting on the row lock" },
      ),
    /** Sets the row's status in the locking transaction and commits, releasing the waiter. */
    async commitStatus(status: MessageStatus): Promise<void> {
      try {
        await client.query("update messages set status = $2, updated_at = now() where id = $1", [id, status]);
        await client.query("commit");
      } finally {
        client.release();
      }
    },
  };
}
