import { getTableColumns } from "drizzle-orm";
import { namedStatement, type Executor } from "../named";
import { messageEvents, type MessageEvent } from "../schema/messages";
import { isMessageStatus, MESSAGE_STATUSES, type MessageStatus } from "../status";
import type { WaitingReason } from "../schema/fleet";
import { beginAttemptsParams, beginAttemptsSql, finishAttemptsParams, finishAttemptsSql, setWaitingSql, type AttemptAnswer, type NewAttempt } from "./attempts";
import { allowedTransitionSql, DUE_AT, EVENT_INSERT, eventErrorSql, latencyMsSql, moveAssignments } from "./state-machine.sql";

export interface TransitionInput {
  messageId: string;
  to: MessageStatus;
  /** When the status was reached (e.g. the phone's sentAt), stored in `<to>_at`; default now(). */
  at?: Date;
  /** Stored in messages.error; an existing error is kept when omitted. */
  error?: string;
  /** Stored on the event row (the outbox), e.g. the webhook or gateway answer. */
  payload?: unknown;
  /** Restricts the move to this owner's message (tenant isolation); a foreign id is a no-op. */
  userId?: string;
  /**
   * Moves only from one of these statuses (the status the caller read), so a writer that got
   * there in between (a claim → `sending`) is not overwritten by a move that is legal from its
   * status too (`sending` → `expired`). Omitted: any status the state machine allows.
   */
  from?: readonly MessageStatus[];
  /**
   * The sender of the attempt this move belongs to (the claim's move to `sending`): stored in
   * messages.sender_id in the same write (every move clears waiting_reason), so the event names
   * the sender and the row is written once, not again by the attempt's insert (ADR 0019).
   */
  senderId?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const EVENT_COLUMNS = Object.entries(getTableColumns(messageEvents));
// Named, not `*`: see namedStatement.
const EVENT_RETURNING = EVENT_COLUMNS.map(([, column]) => `"${column.name}"`).join(", ");

/** The batched move as CTE `u`: messages moved, with what their events need. */
const MOVE_CTE = `
    u as (
      update messages m set
        ${moveAssignments({
          to: "v.status",
          targets: MESSAGE_STATUSES,
          entered: (s) => `v.status = '${s}'`,
          at: () => "v.at",
        })},
        error = coalesce(v.error, m.error),
        sender_id = coalesce(v.sender_id, m.sender_id)
      from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::uuid[])
        as v(id, status, at, error, payload, user_id, from_list, sender_id)
      where m.id = v.id
        and (v.user_id is null or m.user_id = v.user_id)
        -- unnest cannot yield an array per row: each item's allowed sources travel comma-joined.
        and (v.from_list is null or m.status = any(string_to_array(v.from_list, ',')))
        and ${allowedTransitionSql("m.status", "v.status")}
      returning m.id, m.user_id, m.status, ${DUE_AT} as due_at, v.payload, m.sender_id, m.error
    )`;

/** The outbox rows of the messages `u` moved. */
const EVENTS_OF_MOVES = `
    ${EVENT_INSERT}
    select id, user_id, status, ${latencyMsSql("due_at")}, payload::jsonb, sender_id, ${eventErrorSql("status", "error")}
    from u
    returning ${EVENT_RETURNING}`;

/** The batched move; `before` is extra CTEs (ending in a comma) run in the same statement. */
const transitionManySql = (before = "") => `
    with ${before} ${MOVE_CTE}
    ${EVENTS_OF_MOVES}`;

const TRANSITION_MANY = namedStatement<Record<string, unknown>>("inboxerr_transition_many", transitionManySql());

// The sender's answers: the attempts' update rides along as a CTE nothing reads, which Postgres
// runs to completion once the main statement is done (so messages are locked first, then
// attempts, as webhook-ingest's report batch does). One round trip and one commit, not two.
const FINISH_MANY = namedStatement<Record<string, unknown>>(
  "inboxerr_sender_finish_many",
  transitionManySql(`answered as (${finishAttemptsSql("$9", "$10", "$11")}),`),
);

// The claim commit (the sender's, ADR 0019) in one statement instead of a transaction of three
// or four (BEGIN, the moves, the attempts, the waiting reasons, COMMIT: five round trips, each
// waiting on the sender's busy event loop): the moves (u) with their events (ev), then the new
// attempts (a), a claim's attempt only if its move to `sending` happened in u, their messages'
// sender (am, on rows u did not move), and the waiting reasons (w). Messages are locked in the
// order the transaction locked them: the moves', then the attempts' messages, then the waits'.
const CLAIM_COMMIT = namedStatement<Record<string, unknown>>(
  "inboxerr_sender_claim_commit",
  `
    with ${MOVE_CTE},
    ev as (${EVENTS_OF_MOVES}),
    ${beginAttemptsSql({ ids: "$9", messageIds: "$10", senderIds: "$11", ns: "$12", counts: "$13" }, { afterMove: "$14", moved: "u" })},
    w as (${setWaitingSql("$15", "$16")})
    -- One row even when nothing moved; the attempts opened ride on the first, comma-joined
    -- (pg parses a returned array character by character, and on every row it would repeat).
    select case when coalesce(e.rn, 1) = 1 then o.opened end as opened, ${EVENT_RETURNING.split(", ").map((c) => `e.${c}`).join(", ")}
    from (select string_agg(a.id::text, ',') as opened from a) o
    left join (select ev.*, row_number() over () as rn from ev) e on true`,
);

/** A new attempt in the claim commit; `afterMove`: opened only if its message moved to `sending` in the same commit. */
export type ClaimAttempt = NewAttempt & { afterMove: boolean };

/**
 * The sender's claim commit (ADR 0019), in one statement: the moves (as transitionMany: to
 * `sending`, with the attempt's sender, or an expiry), the new `sending` attempts with their
 * messages' sender (as beginAttempts; an `afterMove` attempt only if its message's move to
 * `sending` happened here, so a claim a racing writer beat opens nothing), and the waiting
 * reasons (as setWaitingReasons). The same writes, in the same order, as those three in one
 * transaction, as long as no row is written twice, which one statement cannot do. Returns
 * undefined, writing nothing, when it would be: the moves name a message twice, an attempt not
 * `afterMove` names a moved message, or a wait names a moved message or one given an attempt.
 * One case is the caller's to rule out, as it has the rows: a move to `sending` whose attempt is
 * the implicit sender's (NULL) on a message whose sender_id is set (the transaction cleared
 * it after the move). Returns the events and the ids of the attempts opened.
 */
export async function commitClaimMany(
  db: Executor,
  items: readonly TransitionInput[],
  attempts: readonly ClaimAttempt[],
  waits: readonly { messageId: string; reason: WaitingReason }[],
): Promise<{ events: MessageEvent[]; opened: Set<string> } | undefined> {
  const moves = rounds(items);
  if (moves.length > 1) return undefined;
  const moved = new Set(items.map((i) => i.messageId.toLowerCase()));
  // An attempt that does not wait for its move, on a moved message: the transaction wrote that row twice.
  if (attempts.some((a) => !a.afterMove && moved.has(a.messageId.toLowerCase()))) return undefined;
  const touched = new Set([...moved, ...attempts.map((a) => a.messageId.toLowerCase())]);
  if (waits.some((w) => touched.has(w.messageId.toLowerCase()))) return undefined;
  const { rows } = await CLAIM_COMMIT.run(db, [
    ...roundParams(moves[0] ?? []),
    ...beginAttemptsParams(attempts),
    attempts.map((a) => a.afterMove),
    waits.map((w) => w.messageId),
    waits.map((w) => w.reason),
  ]);
  const joined = rows[0]?.opened as string | null | undefined;
  const opened = new Set(joined ? joined.split(",") : []);
  return { events: rows.filter((r) => r.id !== null && r.id !== undefined).map(toMessageEvent), opened };
}

/**
 * Moves one message to `to` if the state machine allows it from its current status, and
 * records the `message_events` row (the outbox) in the same statement, so it needs no
 * transaction of its own and composes with a caller's (pass the transaction's client, see
 * withTransaction). Returns the event, or null when nothing moved: unknown or foreign id, a
 * move the state machine refuses, or a racing writer got there first.
 *
 * A move to `sending` also counts one send attempt (`messages.attempts`): the sender makes
 * that move right before it calls the gateway, so the claim and its attempt are one write.
 */
export async function transition(db: Executor, input: TransitionInput): Promise<MessageEvent | null> {
  const [event] = await transitionMany(db, [input]);
  return event ?? null;
}

/**
 * Applies many transitions (any mix of messages and targets) in one round trip and returns
 * the events actually written, in no particular order. Items naming the same message are
 * applied in input order, one extra statement per repeat, exactly as sequential `transition`
 * calls would be. Ids that are not UUIDs cannot name a message and are no-ops.
 */
export async function transitionMany(db: Executor, items: readonly TransitionInput[]): Promise<MessageEvent[]> {
  const events: MessageEvent[] = [];
  for (const round of rounds(items)) {
    events.push(...(await applyRound(db, round)));
  }
  return events;
}

/**
 * The gateway's answers to a batch of sends, in one statement: each attempt that is still
 * `sending` records its answer (finishAttempts), and each message makes its move (as
 * transitionMany). Both land or neither does, so no message is left behind its attempt's
 * answer. Returns the events written.
 */
export async function finishMany(db: Executor, answers: readonly AttemptAnswer[], items: readonly TransitionInput[]): Promise<MessageEvent[]> {
  if (answers.length === 0) return transitionMany(db, items);
  const [first = [], ...rest] = rounds(items);
  const events = await applyRound(db, first, finishAttemptsParams(answers));
  for (const round of rest) events.push(...(await applyRound(db, round)));
  return events;
}

/** Splits items into rounds in which each message appears once (one UPDATE can move a row once). */
function rounds(items: readonly TransitionInput[]): TransitionInput[][] {
  const out: TransitionInput[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    for (const status of [item.to, ...(item.from ?? [])]) {
      if (!isMessageStatus(status)) throw new TypeError(`unknown message status: ${String(status)}`);
    }
    if (!UUID.test(item.messageId) || (item.userId !== undefined && !UUID.test(item.userId))) continue;
    const id = item.messageId.toLowerCase();
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    (out[n] ??= []).push(item);
  }
  // A stable lock order makes deadlocks between concurrent batches less likely.
  for (const round of out) round.sort((a, b) => (a.messageId.toLowerCase() < b.messageId.toLowerCase() ? -1 : 1));
  return out;
}

async function applyRound(db: Executor, items: TransitionInput[], answers?: unknown[]): Promise<MessageEvent[]> {
  const values = roundParams(items);
  const result = answers ? await FINISH_MANY.run(db, [...values, ...answers]) : await TRANSITION_MANY.run(db, values);
  return result.rows.map(toMessageEvent);
}

/** MOVE_CTE's eight parameters for one round. */
function roundParams(items: readonly TransitionInput[]): unknown[] {
  const col = <T>(pick: (i: TransitionInput) => T) => items.map(pick);
  return [
    col((i) => i.messageId),
    col((i) => i.to),
    col((i) => i.at?.toISOString() ?? null),
    col((i) => i.error ?? null),
    col((i) => (i.payload == null ? null : JSON.stringify(i.payload))),
    col((i) => i.userId ?? null),
    col((i) => i.from?.join(",") ?? null),
    col((i) => i.senderId ?? null),
  ];
}

/** Raw rows carry snake_case names and driver values (bigint as text); map like drizzle does. */
function toMessageEvent(row: Record<string, unknown>): MessageEvent {
  const event: Record<string, unknown> = {};
  for (const [key, column] of EVENT_COLUMNS) {
    const value = row[column.name];
    // pg already parses timestamptz into a Date; drizzle's mapper expects its own text form.
    event[key] = value === null || value === undefined ? null : value instanceof Date ? value : column.mapFromDriverValue(value);
  }
  return event as MessageEvent;
}
