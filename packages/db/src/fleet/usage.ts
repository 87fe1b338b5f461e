import { sql } from "drizzle-orm";
import type { DbOrTx } from "../client";

/** What a sender has spent of its budgets, counted from its attempt rows (the source of truth). */
export type SenderUsage = {
  /** Attempts begun since 00:00 UTC today; a confirmed-cancelled one never left the phone. */
  today: number;
  /** Distinct recipients of those attempts since the 1st of this month, UTC. */
  monthUniqueRecipients: number;
};

/**
 * Usage per sender id at `now` (GET /senders; the routing's budgets are rebuilt from the same
 * definition when Redis loses them). Days and months are UTC. Senders with no attempts are
 * absent from the map: read a missing one as zero.
 */
export async function senderUsage(db: DbOrTx, senderIds: readonly string[], now = new Date()): Promise<Map<string, SenderUsage>> {
  if (senderIds.length === 0) return new Map();
  const { rows } = await db.execute<{ sender_id: string; today: number; month_unique: number }>(sql`
    with bounds as (
      select date_trunc('day', ${now}::timestamptz at time zone 'UTC') at time zone 'UTC' as day_start,
             date_trunc('month', ${now}::timestamptz at time zone 'UTC') at time zone 'UTC' as month_start
    )
    select a.sender_id,
           (count(*) filter (where a.created_at >= bounds.day_start))::int as today,
           count(distinct m."to")::int as month_unique
    from message_attempts a
    join messages m on m.id = a.message_id
    cross join bounds
    where a.sender_id in (${sql.join(senderIds.map((id) => sql`${id}::uuid`), sql`, `)})
      and a.created_at >= bounds.month_start and a.created_at <= ${now}::timestamptz
      and a.status <> 'cancelled'
    group by a.sender_id`);
  return new Map(rows.map((r) => [r.sender_id, { today: r.today, monthUniqueRecipients: r.month_unique }]));
}
