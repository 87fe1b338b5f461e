import { sql, type SQL } from "drizzle-orm";
import type { Db } from "@inboxerr/db";

/**
 * The kinds of rows that should have a live `sms-send` job but may have lost it. `sending`:
 * a stale `sending` message, or a stale `accepted` one whose later attempt is still `sending`
 * (either way the live attempt's job, which resends that same attempt). `reattempt`: sending
 * or accepted, its last attempt ended without leaving the phone and attempts are left
 * (ADR 0019), so the job of its next attempt should exist.
 */
export type SweepKind = "queued" | "scheduled" | "sending" | "reattempt";

/** `n`: the attempt its job makes, so the job id to look for is sendJobId(id, n). */
export type SweepRow = { id: string; priority: number; n: number };
export type Cursor = { updatedAt: string; id: string } | null;

/**
 * One page of candidates for `kind`, in (updated_at, id) order so paging is stable and rides
 * the partial index on (status, updated_at). The cursor keeps updated_at as Postgres text:
 * a JS Date would cut microseconds and make the keyset skip or repeat rows.
 *  - queued: untouched for `graceMs` (younger ones are almost always still in the queue);
 *  - scheduled: due for `graceMs` (the api enqueued them as delayed jobs; these were lost);
 *  - sending: untouched for `staleMs` (the worker touches a row on every call), `sending`, or
 *    `accepted` with a later attempt still `sending`.
 */
export async function scanPage(
  db: Db,
  kind: SweepKind,
  opts: { graceMs: number; staleMs: number; maxAttempts: number; limit: number; after: Cursor },
): Promise<{ rows: SweepRow[]; next: Cursor }> {
  const cutoff = (ms: number) => sql`now() - make_interval(secs => ${ms / 1000}::double precision)`;
  const live = sql`a.status in ('sending', 'accepted', 'sent')`;
  // Attempts that count towards SEND_MAX_ATTEMPTS: cancelled ones never left the phone (ADR 0022).
  const counted = sql`(select count(*) from message_attempts a where a.message_id = m.id and a.status <> 'cancelled')`;
  const due: Record<Exclude<SweepKind, "reattempt">, SQL> = {
    queued: sql`status = 'queued' and updated_at < ${cutoff(opts.graceMs)}`,
    scheduled: sql`status = 'scheduled' and scheduled_at < ${cutoff(opts.graceMs)}`,
    // A message whose every attempt failed has no next job to give (its last writer failed it).
    // An `accepted` one whose later attempt is still `sending` lost that attempt's job the same
    // way (the claim touches updated_at on every call, as opening the attempt did).
    sending: sql`((status = 'sending'
        and (exists (select 1 from message_attempts a where a.message_id = m.id and ${live})
          or ${counted} < ${opts.maxAttempts}))
      or (status = 'accepted'
        and exists (select 1 from message_attempts a where a.message_id = m.id and a.status = 'sending')))
      and updated_at < ${cutoff(opts.staleMs)}`,
  };
  const after = opts.after ? sql`and (updated_at, id) > (${opts.after.updatedAt}::timestamptz, ${opts.after.id}::uuid)` : sql``;
  const { rows } = await db.execute<{ id: string; priority: number; updated_at: string; n: number }>(
    kind === "reattempt"
      ? reattemptPage({ ...opts, after }, cutoff(opts.graceMs))
      : sql`
    select id, priority, updated_at::text as updated_at,
      -- The live attempt's job, else the next attempt's.
      coalesce(
        (select a.n from message_attempts a where a.message_id = m.id and ${live}),
        (select count(*) from message_attempts a where a.message_id = m.id) + 1
      )::int as n
    from messages m
    where ${due[kind]} ${after}
    order by updated_at, id
    limit ${opts.limit}`,
  );
  const last = rows.at(-1);
  return {
    rows: rows.map((r) => ({ id: r.id, priority: Number(r.priority), n: Number(r.n) })),
    next: last ? { updatedAt: last.updated_at, id: last.id } : null,
  };
}

/**
 * A `reattempt` page: sending or accepted, no live attempt, at least one attempt and fewer
 * than maxAttempts that count (cancelled ones do not),
 * the last of them ended `graceMs` ago. Most such rows (every accepted message) have a live
 * attempt: that test goes first, as one anti join, and the counts are read for the few rows
 * left in one grouped pass. Written as per-row subqueries it cost three index probes per
 * accepted message every pass, and an estimate high enough to JIT-compile the query each time.
 * The next attempt's job is n = rows + 1 (no live attempt to resend).
 */
function reattemptPage(opts: { maxAttempts: number; limit: number; after: SQL }, cutoff: SQL): SQL {
  return sql`
    with cand as materialized (
      select id, priority, updated_at from messages m
      where status in ('sending', 'accepted') ${opts.after}
        and not exists (select 1 from message_attempts a where a.message_id = m.id and a.status in ('sending', 'accepted', 'sent'))
    )
    select m.id, m.priority, m.updated_at::text as updated_at, (c.rows + 1)::int as n
    from cand m
    join (
      select a.message_id, count(*) as rows, count(*) filter (where a.status <> 'cancelled') as counted,
        max(a.updated_at) as last
      from message_attempts a
      where a.message_id in (select id from cand)
      group by a.message_id
    ) c on c.message_id = m.id
    -- Cancelled attempts never left the phone: they do not count towards SEND_MAX_ATTEMPTS (ADR 0022).
    where c.rows >= 1 and c.counted < ${opts.maxAttempts} and c.last < ${cutoff}
    order by m.updated_at, m.id
    limit ${opts.limit}`;
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
