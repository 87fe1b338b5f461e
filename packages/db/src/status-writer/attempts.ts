import { namedStatement, type Executor } from "../named";
import type { WaitingReason } from "../schema/fleet";

// The sender-worker's writes of message_attempts (ADR 0019 "Attempts"). webhook-ingest moves
// attempts on from `accepted` (report-batch.ts); these cover the claim and the send's answer.

/** An attempt to open at claim time: the id is the one the gateway will see. */
export type NewAttempt = {
  id: string;
  messageId: string;
  /** NULL: the env's `default` gateway and device (part 1, or the implicit sender). */
  senderId: string | null;
  n: number;
  /**
   * Count this call in messages.attempts (calls that may reach the gateway): true for an
   * attempt whose claim moves no status (the move to `sending` counts the first one itself).
   */
  countsCall: boolean;
};

/**
 * The attempts' insert (CTE `a`) and their messages' update (CTE `am`), reading ids, message
 * ids, senders, numbers and counts from the five array parameters given. With `claim`, the
 * statement also moves messages itself (CTE `claim.moved`, returning id and status): an item
 * flagged in the `claim.afterMove` array opens only if its message moved to `sending` there,
 * and a moved message's row is left to that move (a row is written once per statement).
 */
export function beginAttemptsSql(
  p: { ids: string; messageIds: string; senderIds: string; ns: string; counts: string },
  claim?: { afterMove: string; moved: string },
): string {
  const source = claim
    ? `unnest(${p.ids}::uuid[], ${p.messageIds}::uuid[], ${p.senderIds}::uuid[], ${p.ns}::int[], ${claim.afterMove}::boolean[]) as v(id, message_id, sender_id, n, after_move)
      where not v.after_move or exists (select 1 from ${claim.moved} x where x.id = v.message_id and x.status = 'sending')`
    : `unnest(${p.ids}::uuid[], ${p.messageIds}::uuid[], ${p.senderIds}::uuid[], ${p.ns}::int[]) as v(id, message_id, sender_id, n)`;
  return `
    a as (
      insert into message_attempts (id, message_id, sender_id, n, status)
      select v.id, v.message_id, v.sender_id, v.n, 'sending'
      from ${source}
      order by v.message_id
      -- A racing replica opened this message's live attempt (or attempt n) first: not ours.
      on conflict do nothing
      returning id, message_id, sender_id
    ), am as (
      update messages m set sender_id = a.sender_id, waiting_reason = null,
        attempts = m.attempts + case when c.counts then 1 else 0 end,
        updated_at = case when c.counts then now() else m.updated_at end
      from a join unnest(${p.messageIds}::uuid[], ${p.counts}::boolean[]) as c(message_id, counts) on c.message_id = a.message_id
      where m.id = a.message_id
        and (c.counts or (m.sender_id, m.waiting_reason) is distinct from (a.sender_id, null::text))
        ${claim ? `and not exists (select 1 from ${claim.moved} x where x.id = m.id)` : ""}
    )`;
}

const BEGIN_ATTEMPTS = namedStatement<{ id: string; message_id: string }>(
  "inboxerr_sender_begin_attempts",
  `
    with ${beginAttemptsSql({ ids: "$1", messageIds: "$2", senderIds: "$3", ns: "$4", counts: "$5" })}
    select id, message_id from a`,
);

/** beginAttempts' five parameters, in the order beginAttemptsSql reads them. */
export function beginAttemptsParams(attempts: readonly NewAttempt[]): unknown[] {
  const col = <T>(pick: (a: NewAttempt) => T) => attempts.map(pick);
  return [col((a) => a.id), col((a) => a.messageId), col((a) => a.senderId), col((a) => a.n), col((a) => a.countsCall)];
}

/**
 * Opens one `sending` attempt per item and points its message at the attempt's sender (and
 * clears its waiting_reason), in one statement. Returns the ids actually inserted: an item
 * whose message already has a live attempt, or an attempt number n, lost to another claim and
 * must not be sent. Run it in the claim's transaction.
 */
export async function beginAttempts(db: Executor, attempts: readonly NewAttempt[]): Promise<Set<string>> {
  if (attempts.length === 0) return new Set();
  const { rows } = await BEGIN_ATTEMPTS.run(db, beginAttemptsParams(attempts));
  return new Set(rows.map((r) => r.id));
}

/** The waiting reasons' UPDATE, reading ids and reasons from the two array parameters given. */
export function setWaitingSql(ids: string, reasons: string): string {
  return `
    update messages m set waiting_reason = v.reason
    from unnest(${ids}::uuid[], ${reasons}::text[]) as v(id, reason)
    where m.id = v.id and m.waiting_reason is distinct from v.reason
      and m.status in ('queued', 'scheduled', 'sending', 'accepted')`;
}

const SET_WAITING = namedStatement("inboxerr_sender_set_waiting", setWaitingSql("$1", "$2"));

/** Records why each message waits for an attempt; a row that already says so is not written. */
export async function setWaitingReasons(db: Executor, items: readonly { messageId: string; reason: WaitingReason }[]): Promise<void> {
  if (items.length === 0) return;
  await SET_WAITING.run(db, [items.map((i) => i.messageId), items.map((i) => i.reason)]);
}

/** The gateway's answer to an attempt's send request. */
export type AttemptAnswer = { attemptId: string; to: "accepted" | "failed"; error?: string };

/**
 * The UPDATE that records the gateway's answers, its ids, statuses and errors read from the
 * three array parameters given: its own statement here, and a CTE of the finish statement
 * that moves the messages in the same write (transition.ts).
 */
export function finishAttemptsSql(ids: string, statuses: string, errors: string): string {
  return `
    update message_attempts a set
      status = v.status,
      error = coalesce(v.error, a.error),
      accepted_at = case when v.status = 'accepted' then now() else a.accepted_at end,
      failed_at = case when v.status = 'failed' then now() else a.failed_at end,
      updated_at = now()
    from unnest(${ids}::uuid[], ${statuses}::text[], ${errors}::text[]) as v(id, status, error)
    -- Forward only: a report (webhook-ingest) may already have moved it past sending.
    where a.id = v.id and a.status = 'sending'`;
}

const FINISH_ATTEMPTS = namedStatement("inboxerr_sender_finish_attempts", finishAttemptsSql("$1", "$2", "$3"));

/** The three parameters of finishAttemptsSql, in order: ids, statuses, errors. */
export function finishAttemptsParams(answers: readonly AttemptAnswer[]): [string[], string[], (string | null)[]] {
  // In attempt id order, the order every writer of message_attempts locks them in.
  const sorted = [...answers].sort((a, b) => (a.attemptId < b.attemptId ? -1 : a.attemptId > b.attemptId ? 1 : 0));
  return [
    sorted.map((a) => a.attemptId),
    sorted.map((a) => a.to),
    // A NUL cannot be stored in text; the gateway's reason is free text.
    sorted.map((a) => a.error?.replaceAll("\u0000", "") ?? null),
  ];
}

/** Records the gateway's answer on each attempt that is still `sending`. */
export async function finishAttempts(db: Executor, answers: readonly AttemptAnswer[]): Promise<void> {
  if (answers.length === 0) return;
  await FINISH_ATTEMPTS.run(db, finishAttemptsParams(answers));
}

const DROP_ATTEMPTS = namedStatement(
  "inboxerr_sender_drop_attempts",
  `
    delete from message_attempts where id = any($1::uuid[]) and status = 'sending'`,
);

/**
 * Takes back attempts the gateway refused outright (429/503): it cannot have them, so they
 * were never attempts. The message keeps its status and routes again, maybe elsewhere.
 */
export async function dropAttempts(db: Executor, attemptIds: readonly string[]): Promise<void> {
  if (attemptIds.length === 0) return;
  await DROP_ATTEMPTS.run(db, [attemptIds]);
}
