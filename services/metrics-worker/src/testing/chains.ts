import { sql } from "drizzle-orm";
import { transitionMany, type Db, type MessageEvent, type MessageStatus } from "@inboxerr/db";
import { insertMessages } from "@inboxerr/testing";

/**
 * Moves new messages of `userId` through real transitions (the state machine, stamps and
 * outbox rows as in production), one path per message, and returns the events written in
 * the order they were written. A path may skip states, as a report overtaking another does.
 */
export async function runChains(db: Db, userId: string, paths: readonly (readonly MessageStatus[])[]): Promise<MessageEvent[]> {
  const msgs = await insertMessages(db, userId, paths.length);
  const events: MessageEvent[] = [];
  const steps = Math.max(...paths.map((p) => p.length));
  for (let i = 0; i < steps; i++) {
    const items = paths.flatMap((p, m) => (p[i] ? [{ messageId: msgs[m]!.id, to: p[i]! }] : []));
    events.push(...(await transitionMany(db, items)));
  }
  return events;
}

/** Stamps events published `secondsAgo` ago, as the outbox publish would have then. */
export async function markPublished(db: Db, events: readonly MessageEvent[], secondsAgo: number): Promise<void> {
  await db.execute(sql`
    update message_events set published_at = now() - make_interval(secs => ${secondsAgo}::double precision)
    where id = any(${sql.param(events.map((e) => e.id))}::uuid[])`);
}

/** metrics_buckets summed per status for one user: what GET /metrics/summary reads over all time. */
export async function countsOf(db: Db, userId: string): Promise<Record<string, number>> {
  const { rows } = await db.execute<{ status: string; n: string }>(
    sql`select status, sum(count) as n from metrics_buckets where user_id = ${userId} group by status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * The same from the rows: messages of the user that reached each status, a state skipped by
 * a forward move included (its later stamp implies it; `failed` implies nothing).
 */
export async function reachedOf(db: Db, userId: string): Promise<Record<string, number>> {
  const { rows } = await db.execute<Record<string, string>>(sql`
    select
      count(*) filter (where sending_at is not null or accepted_at is not null or sent_at is not null or delivered_at is not null) as sending,
      count(*) filter (where accepted_at is not null or sent_at is not null or delivered_at is not null) as accepted,
      count(*) filter (where sent_at is not null or delivered_at is not null) as sent,
      count(*) filter (where delivered_at is not null) as delivered,
      count(*) filter (where failed_at is not null) as failed
    from messages where user_id = ${userId}`);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]).filter(([, n]) => n !== 0));
}
