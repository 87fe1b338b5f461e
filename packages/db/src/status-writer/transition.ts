import { getTableColumns } from "drizzle-orm";
import { namedStatement, type Executor } from "../named";
import { messageEvents, type MessageEvent } from "../schema/messages";
import { isMessageStatus, MESSAGE_STATUSES, type MessageStatus } from "../status";
import { finishAttemptsParams, finishAttemptsSql, type AttemptAnswer } from "./attempts";
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

/** The batched move; `before` is extra CTEs (ending in a comma) run in the same statement. */
const transitionManySql = (before = "") => `
    with ${before} u as (
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
    )
    ${EVENT_INSERT}
    select id, user_id, status, ${latencyMsSql("due_at")}, payload::jsonb, sender_id, ${eventErrorSql("status", "error")}
    from u
    returning ${EVENT_RETURNING}`;

const TRANSITION_MANY = namedStatement<Record<string, unknown>>("inboxerr_transition_many", transitionManySql());

// The sender's answers: the attempts' update rides along as a CTE nothing reads, which Postgres
// runs to completion once the main statement is done (so messages are locked first, then
// attempts, as webhook-ingest's report batch does). One round trip and one commit, not two.
const FINISH_MANY = namedStatement<Record<string, unknown>>(
  "inboxerr_sender_finish_many",
  transitionManySql(`answered as (${finishAttemptsSql("$9", "$10", "$11")}),`),
);

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
  const col = <T>(pick: (i: TransitionInput) => T) => items.map(pick);
  const values = [
    col((i) => i.messageId),
    col((i) => i.to),
    col((i) => i.at?.toISOString() ?? null),
    col((i) => i.error ?? null),
    col((i) => (i.payload == null ? null : JSON.stringify(i.payload))),
    col((i) => i.userId ?? null),
    col((i) => i.from?.join(",") ?? null),
    col((i) => i.senderId ?? null),
  ];
  const result = answers ? await FINISH_MANY.run(db, [...values, ...answers]) : await TRANSITION_MANY.run(db, values);
  return result.rows.map(toMessageEvent);
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
