import { ATTEMPT_STATUS, STAMPED_STATUSES, TRANSITIONS, type MessageStatus } from "../status";

/**
 * The parts of the status writer's statements that encode the state machine, generated from
 * status.ts's tables. Both statements (transition.ts's and report-batch.ts's) are built from
 * these, so a change to the table changes both, and neither can drift from canTransition.
 * Plain SQL text: the statements are named (prepared once per connection), so their text is
 * fixed at import.
 */

/** A SQL list of status literals, for `x in (...)`. */
export function statusList(statuses: readonly MessageStatus[]): string {
  return statuses.map((s) => `'${s}'`).join(", ");
}

const ALLOWED_PAIRS = TRANSITIONS.map(([from, to]) => `('${from}', '${to}')`).join(", ");

/** SQL twin of canTransition: true when a message in status `from` may move to `to`. */
export function allowedTransitionSql(from: string, to: string): string {
  return `((${from}, ${to}) in (${ALLOWED_PAIRS}))`;
}

export type MoveColumns = {
  /** Text expression of the status the row moves to; NULL leaves status, stamps and updated_at. */
  to: string;
  /** The targets this statement can produce: stamps are written for these only. */
  targets: readonly MessageStatus[];
  /** Boolean expression: the row entered `status` (a batched move may enter several). */
  entered: (status: MessageStatus) => string;
  /** Timestamp expression: when it did (the phone's time, say); NULL = now(). */
  at: (status: MessageStatus) => string;
};

/**
 * The SET list of an UPDATE of `messages m` that moves a status: the status, the
 * `<status>_at` stamp of each status entered (the given time, else now(); the others kept),
 * one send attempt when entering ATTEMPT_STATUS, a cleared waiting_reason (ADR 0022: whatever
 * the message waited for, it moved on), and updated_at. The one place any statement writes
 * those columns on a move.
 */
export function moveAssignments(m: MoveColumns): string {
  const stamps = STAMPED_STATUSES.filter((s) => m.targets.includes(s)).map(
    (s) => `${s}_at = case when ${m.entered(s)} then coalesce(${m.at(s)}, now()) else m.${s}_at end`,
  );
  const attempts = m.targets.includes(ATTEMPT_STATUS)
    ? [`attempts = m.attempts + (${m.entered(ATTEMPT_STATUS)})::int`]
    : [];
  return [
    `status = coalesce(${m.to}, m.status)`,
    ...stamps,
    ...attempts,
    `waiting_reason = case when ${m.to} is not null then null else m.waiting_reason end`,
    // A counter-only change (a delivered part) leaves updated_at: no indexed column changes, a HOT update.
    `updated_at = case when ${m.to} is not null then now() else m.updated_at end`,
  ].join(",\n        ");
}

/** When a message became due: latency counts from creation, or from scheduled_at when later. */
export const DUE_AT = "greatest(m.created_at, m.scheduled_at)";

/** An event's latency_ms, from its message's due time (a DUE_AT column) to now (occurred_at). */
export function latencyMsSql(dueAt: string): string {
  return `greatest(0, round(extract(epoch from (now() - ${dueAt})) * 1000))::bigint`;
}

/**
 * The outbox columns every status writer fills; occurred_at and id come from their defaults.
 * sender_id and error are the moved message's (its RETURNING m.sender_id, m.error), the error
 * through eventErrorSql: consumers count per sender and failure reason without a join.
 */
export const EVENT_INSERT = "insert into message_events (message_id, user_id, status, latency_ms, payload, sender_id, error)";

/** How much of a message's error a `failed` event keeps (message_events.error). */
const EVENT_ERROR_MAX_CHARS = 200;

/** An event's error column: the message's error for a `failed` event, cut short; NULL otherwise. */
export function eventErrorSql(status: string, error: string): string {
  return `case when ${status} = 'failed' then left(${error}, ${EVENT_ERROR_MAX_CHARS}) end`;
}
