import { namedStatement, type Executor } from "../named";
import { ATTEMPT_STATUS, isMessageStatus, type MessageStatus } from "../status";

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
   * For a claimable row it is counted by the claim's transition; for a `sending` row, already.
   */
  attempt: number | null;
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
}>(
  "inboxerr_sender_claim_rows",
  `
    with retried as (
      update messages set attempts = attempts + 1, updated_at = now()
      where id = any($1::uuid[])
        and status = '${ATTEMPT_STATUS}'
        and (valid_until is null or valid_until > now() or attempts > 0)
      returning id, attempts
    )
    select m.id, m.user_id, m.status, m."to", m.text, m.priority, m.valid_until,
      coalesce(m.valid_until <= now(), false) as lapsed,
      case when m.status = 'scheduled' and m.scheduled_at > now() + ${EARLY_SLACK} then m.scheduled_at end as early_until,
      case
        when m.status = '${ATTEMPT_STATUS}' then r.attempts
        when m.status in ('queued', 'scheduled')
          and (m.valid_until is null or m.valid_until > now())
          and not (m.status = 'scheduled' and m.scheduled_at > now() + ${EARLY_SLACK})
          then m.attempts + 1
      end as attempt
    from messages m left join retried r on r.id = m.id
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
 * already `sending` (a retry after a crash, stall or transient error: no transition happens)
 * has its attempt counted here, and its updated_at touched (the sweeper's staleness clock).
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
    });
  }
  return rows;
}

const UNCOUNT_ATTEMPTS = namedStatement(
  "inboxerr_uncount_attempts",
  `
    update messages set attempts = greatest(attempts - 1, 0)
    where id = any($1::uuid[]) and status = '${ATTEMPT_STATUS}'`,
);

/** Takes back the attempt counted for each id: the gateway refused that call outright. */
export async function uncountAttempts(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await UNCOUNT_ATTEMPTS.run(db, [ids]);
}
