import { getTableColumns, sql, type SQL } from "drizzle-orm";
import { executePrepared, type DbOrTx } from "./client";
import { messageEvents, type MessageEvent } from "./schema/messages";
import { isMessageStatus, MESSAGE_STATUSES, TRANSITIONS, type MessageStatus } from "./status";

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
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// scheduled_at is the requested send time, not a transition stamp; every other status has one.
const STAMPED = MESSAGE_STATUSES.filter((s) => s !== "scheduled");

const ALLOWED_PAIRS = sql.raw(TRANSITIONS.map(([from, to]) => `('${from}', '${to}')`).join(", "));

/**
 * SQL twin of canTransition, built from the same TRANSITIONS table so the two cannot drift:
 * true when a message in status `from` may move to `to`.
 */
export function allowedTransitionSql(from: SQL, to: SQL): SQL {
  return sql`((${from}, ${to}) in (${ALLOWED_PAIRS}))`;
}

const STAMP_ASSIGNMENTS = sql.raw(
  STAMPED.map((s) => `${s}_at = case when v.status = '${s}' then coalesce(v.at, now()) else m.${s}_at end`).join(",\n      "),
);

/**
 * Moves one message to `to` if the state machine allows it from its current status, and
 * records the `message_events` row (the outbox) in the same statement, so it needs no
 * transaction of its own and composes with a caller's (pass `tx`). Returns the event, or null
 * when nothing moved: unknown or foreign id, a move the state machine refuses, or a racing
 * writer got there first.
 *
 * A move to `sending` also counts one send attempt (`messages.attempts`): the sender makes
 * that move right before it calls the gateway, so the claim and its attempt are one write.
 */
export async function transition(db: DbOrTx, input: TransitionInput): Promise<MessageEvent | null> {
  const [event] = await transitionMany(db, [input]);
  return event ?? null;
}

/**
 * Applies many transitions (any mix of messages and targets) in one round trip and returns
 * the events actually written, in no particular order. Items naming the same message are
 * applied in input order, one extra statement per repeat, exactly as sequential `transition`
 * calls would be. Ids that are not UUIDs cannot name a message and are no-ops.
 */
export async function transitionMany(db: DbOrTx, items: readonly TransitionInput[]): Promise<MessageEvent[]> {
  const events: MessageEvent[] = [];
  for (const round of rounds(items)) {
    events.push(...(await applyRound(db, round)));
  }
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

const EVENT_COLUMNS = Object.entries(getTableColumns(messageEvents));
// Named, not `*`: the statement is prepared once per connection, and Postgres refuses to run a
// prepared statement whose result columns changed ("cached plan must not change result type"),
// so a migration adding a column to message_events must not break running services.
const EVENT_RETURNING = sql.raw(EVENT_COLUMNS.map(([, column]) => `"${column.name}"`).join(", "));

async function applyRound(db: DbOrTx, items: TransitionInput[]): Promise<MessageEvent[]> {
  const col = <T>(pick: (i: TransitionInput) => T) => sql.param(items.map(pick));
  const result = await executePrepared<Record<string, unknown>>(db, "inboxerr_transition_many", sql`
    with u as (
      update messages m set
        status = v.status,
        ${STAMP_ASSIGNMENTS},
        error = coalesce(v.error, m.error),
        -- The sender moves a message to sending right before calling the gateway: that call is an attempt.
        attempts = m.attempts + (v.status = 'sending')::int,
        updated_at = now()
      from unnest(
        ${col((i) => i.messageId)}::uuid[],
        ${col((i) => i.to)}::text[],
        ${col((i) => i.at?.toISOString() ?? null)}::timestamptz[],
        ${col((i) => i.error ?? null)}::text[],
        ${col((i) => (i.payload == null ? null : JSON.stringify(i.payload)))}::text[],
        ${col((i) => i.userId ?? null)}::uuid[],
        ${col((i) => i.from?.join(",") ?? null)}::text[]
      ) as v(id, status, at, error, payload, user_id, from_list)
      where m.id = v.id
        and (v.user_id is null or m.user_id = v.user_id)
        -- unnest cannot yield an array per row: each item's allowed sources travel comma-joined.
        and (v.from_list is null or m.status = any(string_to_array(v.from_list, ',')))
        and ${allowedTransitionSql(sql`m.status`, sql`v.status`)}
      returning m.id, m.user_id, m.status, greatest(m.created_at, m.scheduled_at) as due_at, v.payload
    )
    insert into message_events (message_id, user_id, status, latency_ms, payload)
    select id, user_id, status,
      greatest(0, round(extract(epoch from (now() - due_at)) * 1000))::bigint,
      payload::jsonb
    from u
    returning ${EVENT_RETURNING}`);
  return result.rows.map(toMessageEvent);
}

/** Raw rows carry snake_case names and driver values (timestamps as strings); map like drizzle does. */
function toMessageEvent(row: Record<string, unknown>): MessageEvent {
  const event: Record<string, unknown> = {};
  for (const [key, column] of EVENT_COLUMNS) {
    const value = row[column.name];
    event[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return event as MessageEvent;
}
