import { namedStatement, type Executor } from "../named";
import type { AttemptStatus, WaitingReason } from "../schema/fleet";
import { ATTEMPT_STATUS, isMessageStatus, type MessageStatus } from "../status";

/** A message's live attempt (ADR 0019: at most one), with where it was sent from. */
export type LiveAttempt = {
  /** The id the gateway knows. */
  id: string;
  /** NULL: made through the env's `default` gateway and device (part 1, or the implicit sender). */
  senderId: string | null;
  n: number;
  status: AttemptStatus;
  /** The sender's device, SIM and account when it has a sender (read with the attempt, so a crash retry needs no cache). */
  deviceId: string | null;
  simNumber: number | null;
  accountId: string | null;
};

export type ClaimRow = {
  id: string;
  userId: string;
  status: MessageStatus;
  to: string;
  text: string;
  priority: number;
  validUntil: Date | null;
  /** validUntil has passed (by the database clock). */
  lapsed: boolean;
  /** Scheduled, and its time is more than a second away: the job ran early. */
  earlyUntil: Date | null;
  /**
   * The attempt number this job is about to make, or null when it must not call the gateway.
   * For a claimable row it is counted by the claim's transition; for a `sending` row (or an
   * `accepted` one whose later attempt is still `sending`), already.
   */
  attempt: number | null;
  /** messages.attempts as stored: calls that may have reached the gateway (part-1 meaning). */
  attemptsCounted: number;
  pinnedSenderId: string | null;
  waitingReason: WaitingReason | null;
  /** How many message_attempts rows it has; the next attempt is number attemptRows + 1. */
  attemptRows: number;
  /**
   * The rows that count towards SEND_MAX_ATTEMPTS: all but `cancelled` ones, which provably
   * never left the phone (ADR 0022).
   */
  countedRows: number;
  live: LiveAttempt | null;
  /**
   * The sender of this user's latest other message to the same number (sticky routing), if
   * any; looked up only when routing reads it (no live attempt, no pinned sender), else null.
   */
  stickySenderId: string | null;
  /** messages.sender_id: its latest attempt's sender (a re-attempt avoids it, ADR 0022). */
  senderId: string | null;
};

// A job may run a little before scheduled_at (clocks, rounding of the delay); that is on time.
const EARLY_SLACK = "interval '1 second'";

const CLAIM_ROWS = namedStatement<{
  id: string;
  user_id: string;
  status: string;
  to: string;
  text: string;
  priority: number;
  valid_until: Date | null;
  lapsed: boolean;
  early_until: Date | null;
  attempt: number | null;
  attempts: number;
  pinned_sender_id: string | null;
  waiting_reason: string | null;
  attempt_rows: number;
  counted_rows: number;
  live_id: string | null;
  live_sender_id: string | null;
  live_n: number | null;
  live_status: string | null;
  live_device_id: string | null;
  live_sim_number: number | null;
  live_account_id: string | null;
  sticky_sender_id: string | null;
  sender_id: string | null;
}>(
  "inboxerr_sender_claim_rows",
  `
    -- The batch's ids as rows, so the update below walks the primary key per id. Written as
    -- "id = any($1) and status in (...)" the planner ANDed the pkey with the non-terminal
    -- status index and read every sending/accepted entry per batch: a claim's cost grew with the
    -- number of accepted messages (7 ms per batch at 44k of them).
    with batch as materialized (select unnest($1::uuid[]) as id),
    retried as (
      update messages set attempts = attempts + 1, updated_at = now()
      from batch
      where messages.id = batch.id
        and status in ('${ATTEMPT_STATUS}', 'accepted')
        and (valid_until is null or valid_until > now() or attempts > 0)
        -- Only a call that goes out again: a live attempt still sending (crash retry; on an
        -- accepted message too, when it is a later attempt), or a part-1 claim that has no
        -- attempt row. A message waiting for a new attempt is not counted.
        and (exists (select 1 from message_attempts a where a.message_id = messages.id and a.status = 'sending')
          or (status = '${ATTEMPT_STATUS}' and attempts > 0
            and not exists (select 1 from message_attempts a where a.message_id = messages.id)))
      returning messages.id, attempts
    )
    select m.id, m.user_id, m.status, m."to", m.text, m.priority, m.valid_until,
      coalesce(m.valid_until <= now(), false) as lapsed,
      case when m.status = 'scheduled' and m.scheduled_at > now() + ${EARLY_SLACK} then m.scheduled_at end as early_until,
      case
        when m.status in ('${ATTEMPT_STATUS}', 'accepted') then r.attempts
        when m.status in ('queued', 'scheduled')
          and (m.valid_until is null or m.valid_until > now())
          and not (m.status = 'scheduled' and m.scheduled_at > now() + ${EARLY_SLACK})
          then m.attempts + 1
      end as attempt,
      m.attempts, m.pinned_sender_id, m.waiting_reason, m.sender_id,
      c.attempt_rows, c.counted_rows,
      l.id as live_id, l.sender_id as live_sender_id, l.n as live_n, l.status as live_status,
      s.device_id as live_device_id, s.sim_number as live_sim_number, s.account_id as live_account_id,
      -- Routing reads it only for a new attempt with no pin (router.ts), so it is looked up only
      -- then: rides messages_to_created_at_idx, the newest routed message of this user to this number.
      case when l.id is null and m.pinned_sender_id is null then
        (select p.sender_id from messages p
          where p."to" = m."to" and p.user_id = m.user_id and p.id <> m.id and p.sender_id is not null
          order by p.created_at desc limit 1)
      end as sticky_sender_id
    from messages m
    left join retried r on r.id = m.id
    -- Per row through message_attempts_live_idx (at most one live attempt: the limit changes no
    -- result). As a plain join, a batch of a few hundred ids was planned as a hash join over a
    -- scan of every live attempt, whose cost grew with the attempts table.
    left join lateral (
      select a.id, a.sender_id, a.n, a.status from message_attempts a
      where a.message_id = m.id and a.status in ('sending', 'accepted', 'sent')
      limit 1
    ) l on true
    left join senders s on s.id = l.sender_id
    -- Both counts in one pass over the message's attempts (cancelled ones do not count towards
    -- SEND_MAX_ATTEMPTS, ADR 0022).
    cross join lateral (
      select count(*)::int as attempt_rows, (count(*) filter (where a.status <> 'cancelled'))::int as counted_rows
      from message_attempts a where a.message_id = m.id
    ) c
    where m.id = any($1::uuid[])`,
);

/**
 * The sender's claim read, and the one writer of `messages.attempts` besides the move to
 * `sending` (transition.ts) and uncountAttempts: all three live in status-writer/.
 *
 * Reads the rows a batch of jobs is about to claim, and works out for each whether it may go
 * to the gateway: claimable (queued|scheduled) or already `sending`, due, and either still
 * valid or already tried. `attempt` is the number that call will be.
 *
 * A claimable row's attempt is counted by the claim itself (transitionMany counts one with
 * every move to `sending`, in the same write), so here it is read, not written: the common
 * path is a plain read that writes no WAL and waits for no commit flush. Only a row that is
 * already `sending` (a retry after a crash, stall or transient error: no transition happens),
 * or `accepted` with a later attempt still `sending` (the same retry of that attempt), has its
 * attempt counted here, and its updated_at touched (the sweeper's staleness clock).
 *
 * `attempts` counts the calls that may have reached the gateway (a throttled call is taken
 * back, see uncountAttempts). It is what lets an expired row be told apart: 0 means the
 * gateway cannot have it, so it can be expired as unsent; more means an earlier call may have
 * arrived, so the gateway's answer (409 = it has it) decides instead of a guess.
 *
 * The outer SELECT sees the rows as they were before the CTE's update (Postgres snapshot rule),
 * which is what we want: the status the claim is about to be decided on.
 */
export async function fetchClaimRows(db: Executor, ids: readonly string[]): Promise<Map<string, ClaimRow>> {
  if (ids.length === 0) return new Map();
  const result = await CLAIM_ROWS.run(db, [ids]);
  const rows = new Map<string, ClaimRow>();
  for (const r of result.rows) {
    if (!isMessageStatus(r.status)) continue;
    rows.set(r.id, {
      id: r.id,
      userId: r.user_id,
      status: r.status,
      to: r.to,
      text: r.text,
      priority: Number(r.priority),
      validUntil: r.valid_until,
      lapsed: r.lapsed,
      earlyUntil: r.early_until,
      attempt: r.attempt === null ? null : Number(r.attempt),
      attemptsCounted: Number(r.attempts),
      pinnedSenderId: r.pinned_sender_id,
      waitingReason: r.waiting_reason as WaitingReason | null,
      attemptRows: Number(r.attempt_rows),
      countedRows: Number(r.counted_rows),
      live:
        r.live_id === null
          ? null
          : {
              id: r.live_id,
              senderId: r.live_sender_id,
              n: Number(r.live_n),
              status: r.live_status as AttemptStatus,
              deviceId: r.live_device_id,
              simNumber: r.live_sim_number === null ? null : Number(r.live_sim_number),
              accountId: r.live_account_id,
            },
      stickySenderId: r.sticky_sender_id,
      senderId: r.sender_id,
    });
  }
  return rows;
}

const UNCOUNT_ATTEMPTS = namedStatement(
  "inboxerr_uncount_attempts",
  `
    update messages set attempts = greatest(attempts - 1, 0)
    where id = any($1::uuid[]) and status in ('${ATTEMPT_STATUS}', 'accepted')`,
);

/** Takes back the attempt counted for each id: the gateway refused that call outright. */
export async function uncountAttempts(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await UNCOUNT_ATTEMPTS.run(db, [ids]);
}
