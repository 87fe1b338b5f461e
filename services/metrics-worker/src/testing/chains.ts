import { sql } from "drizzle-orm";
import { gatewayAccounts, senders, transitionMany, type Db, type MessageEvent, type MessageStatus } from "@inboxerr/db";
import { uniqueSuffix } from "@inboxerr/testing";
import { insertMessages } from "@inboxerr/testing";

/**
 * Moves new messages of `userId` through real transitions (the state machine, stamps and
 * outbox rows as in production), one path per message, and returns the events written in
 * the order they were written. A path may skip states, as a report overtaking another does.
 * `senderId` routes every message through that sender; `error(i)` is message i's reason when it fails.
 */
export async function runChains(
  db: Db,
  userId: string,
  paths: readonly (readonly MessageStatus[])[],
  opts: { senderId?: string; error?: (i: number) => string } = {},
): Promise<MessageEvent[]> {
  const msgs = await insertMessages(db, userId, paths.length, opts.senderId ? { senderId: opts.senderId } : {});
  const events: MessageEvent[] = [];
  const steps = Math.max(...paths.map((p) => p.length));
  for (let i = 0; i < steps; i++) {
    const items = paths.flatMap((p, m) => {
      const to = p[i];
      if (!to) return [];
      const error = to === "failed" ? opts.error?.(m) : undefined;
      return [{ messageId: msgs[m]!.id, to, ...(error === undefined ? {} : { error }) }];
    });
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
export async function reachedOf(db: Db, userId: string, senderId?: string): Promise<Record<string, number>> {
  const { rows } = await db.execute<Record<string, string>>(sql`
    select
      count(*) filter (where sending_at is not null or accepted_at is not null or sent_at is not null or delivered_at is not null) as sending,
      count(*) filter (where accepted_at is not null or sent_at is not null or delivered_at is not null) as accepted,
      count(*) filter (where sent_at is not null or delivered_at is not null) as sent,
      count(*) filter (where delivered_at is not null) as delivered,
      count(*) filter (where failed_at is not null) as failed
    from messages where user_id = ${userId} ${senderId ? sql`and sender_id = ${senderId}` : sql``}`);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]).filter(([, n]) => n !== 0));
}

/** A sender on a new gateway account: the owner's private one, or a shared one (owner null). */
export async function createSender(db: Db, ownerUserId: string | null): Promise<string> {
  const [account] = await db
    .insert(gatewayAccounts)
    .values({ ownerUserId, name: `metrics-${uniqueSuffix()}`, baseUrl: "https://gw.test.inboxerr.dev", username: "u" })
    .returning();
  const [sender] = await db.insert(senders).values({ accountId: account!.id, deviceId: `d-${uniqueSuffix()}` }).returning();
  return sender!.id;
}

/** metrics_sender_buckets summed per status for one user and sender. */
export async function senderCountsOf(db: Db, userId: string, senderId: string): Promise<Record<string, number>> {
  const { rows } = await db.execute<{ status: string; n: string }>(sql`
    select status, sum(count) as n from metrics_sender_buckets
    where user_id = ${userId} and sender_id = ${senderId} group by status`);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** metrics_failure_reasons summed per reason for one user (and sender, when given). */
export async function reasonsOf(db: Db, userId: string, senderId?: string): Promise<Record<string, number>> {
  const { rows } = await db.execute<{ reason: string; n: string }>(sql`
    select reason, sum(count) as n from metrics_failure_reasons
    where user_id = ${userId} ${senderId ? sql`and sender_id = ${senderId}` : sql``} group by reason`);
  return Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)]));
}
