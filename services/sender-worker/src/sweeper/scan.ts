import { sql, type SQL } from "drizzle-orm";
import type { Db } from "@inboxerr/db";

/** The three kinds of rows that should have a live `sms-send` job but may have lost it. */
export type SweepKind = "queued" | "scheduled" | "sending";

export type SweepRow = { id: string; priority: number };
export type Cursor = { updatedAt: string; id: string } | null;

/**
 * One page of candidates for `kind`, in (updated_at, id) order so paging is stable and rides
 * the partial index on (status, updated_at). The cursor keeps updated_at as Postgres text:
 * a JS Date would cut microseconds and make the keyset skip or repeat rows.
 *  - queued: untouched for `graceMs` (younger ones are almost always still in the queue);
 *  - scheduled: due for `graceMs` (the api enqueued them as delayed jobs; these were lost);
 *  - sending: untouched for `staleMs` (the worker touches a row on every attempt).
 */
export async function scanPage(
  db: Db,
  kind: SweepKind,
  opts: { graceMs: number; staleMs: number; limit: number; after: Cursor },
): Promise<{ rows: SweepRow[]; next: Cursor }> {
  const cutoff = (ms: number) => sql`now() - make_interval(secs => ${ms / 1000}::double precision)`;
  const due: Record<SweepKind, SQL> = {
    queued: sql`updated_at < ${cutoff(opts.graceMs)}`,
    scheduled: sql`scheduled_at < ${cutoff(opts.graceMs)}`,
    sending: sql`updated_at < ${cutoff(opts.staleMs)}`,
  };
  const after = opts.after ? sql`and (updated_at, id) > (${opts.after.updatedAt}::timestamptz, ${opts.after.id}::uuid)` : sql``;
  const { rows } = await db.execute<{ id: string; priority: number; updated_at: string }>(sql`
    select id, priority, updated_at::text as updated_at from messages
    where status = ${kind} and ${due[kind]} ${after}
    order by updated_at, id
    limit ${opts.limit}`);
  const last = rows.at(-1);
  return {
    rows: rows.map((r) => ({ id: r.id, priority: Number(r.priority) })),
    next: last ? { updatedAt: last.updated_at, id: last.id } : null,
  };
}

/** Ids of unsent messages whose validUntil has passed (oldest deadline first). */
export async function expiredIds(db: Db, limit: number): Promise<string[]> {
  const { rows } = await db.execute<{ id: string }>(sql`
    select id from messages
    where status in ('scheduled', 'queued') and valid_until < now()
    order by valid_until
    limit ${limit}`);
  return rows.map((r) => r.id);
}
