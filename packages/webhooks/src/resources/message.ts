import { eq, sql, type SQL } from "drizzle-orm";
import { messages, senders, type DbOrTx, type Message, type MessageStatus, type WaitingReason } from "@inboxerr/db";

// The resources as the API shows them, in one place: the api's routes answer with them and the
// webhook-dispatcher puts them in a delivery's `data` (ADR 0023: "the resource as the API shows
// it"), so a customer never sees two shapes of one message.

/**
 * What a message is shown with besides its own row: the number it went from (read through
 * `sender_id`, so a number moved to another SIM is not copied stale into every message, ADR
 * 0017) and how many attempts it has had. The count is a correlated subquery over the
 * `(message_id, n)` unique index: one query per page, no N+1. Select these `from(messages)`
 * with `.leftJoin(senders, senderOfMessage)`.
 */
export const messageRowFields = {
  message: messages,
  from: senders.phoneNumber,
  attemptCount: sql<number>`(select count(*)::int from message_attempts a where a.message_id = ${messages.id})`.as("attempt_count"),
};

export const senderOfMessage = eq(senders.id, messages.senderId);

/** A message as toMessageJson takes it. */
export type MessageRow = { message: Message; from: string | null; attemptCount: number };

/** One message by id (ownership is the caller's `where`), as toMessageJson takes it. */
export async function loadMessageRow(db: DbOrTx, where: SQL | undefined): Promise<MessageRow | undefined> {
  const [row] = await db.select(messageRowFields).from(messages).leftJoin(senders, senderOfMessage).where(where);
  return row;
}

/** loadMessages' query, built and named once per database handle (drizzle prepares it on each connection). */
const preparedLoads = new WeakMap<DbOrTx, ReturnType<typeof prepareLoad>>();
function prepareLoad(db: DbOrTx) {
  return db
    .select(messageRowFields)
    .from(messages)
    .leftJoin(senders, senderOfMessage)
    .where(sql`${messages.id} = any(${sql.placeholder("ids")}::uuid[])`)
    .prepare("inboxerr_load_messages");
}

/**
 * Many messages by id in one query (the dispatcher's fan-out), keyed by id; unknown ids are
 * absent. A prepared statement with the ids as one array: `in (...)` made a new statement
 * text, parsed and planned anew, for every batch size.
 */
export async function loadMessages(db: DbOrTx, ids: readonly string[]): Promise<Map<string, MessageJson>> {
  const out = new Map<string, MessageJson>();
  if (ids.length === 0) return out;
  let load = preparedLoads.get(db);
  if (!load) preparedLoads.set(db, (load = prepareLoad(db)));
  const rows = await load.execute({ ids: [...new Set(ids)] });
  for (const row of rows) out.set(row.message.id, toMessageJson(row));
  return out;
}

/** The `Message` schema of the api's /openapi.json (its routes check this type against it). */
export type MessageJson = {
  id: string;
  to: string;
  text: string;
  status: MessageStatus;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  batchId: string | null;
  customId: string | null;
  priority: number;
  scheduledAt: string | null;
  validUntil: string | null;
  createdAt: string;
  updatedAt: string;
  acceptedAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  error: string | null;
  senderId: string | null;
  from: string | null;
  attemptCount: number;
  waitingReason: WaitingReason | null;
};

const MAY_WAIT: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued", "sending", "accepted"]);

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A `messages` row as clients see it (the `Message` schema of /openapi.json). */
export function toMessageJson({ message: m, from, attemptCount }: MessageRow): MessageJson {
  return {
    id: m.id,
    to: m.to,
    text: m.text,
    status: m.status,
    segments: m.segments,
    encoding: m.encoding,
    batchId: m.batchId,
    customId: m.customId,
    priority: m.priority,
    scheduledAt: iso(m.scheduledAt),
    validUntil: iso(m.validUntil),
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    acceptedAt: iso(m.acceptedAt),
    sentAt: iso(m.sentAt),
    deliveredAt: iso(m.deliveredAt),
    failedAt: iso(m.failedAt),
    error: m.error,
    senderId: m.senderId,
    from,
    attemptCount,
    // Only a message that may still get a new attempt waits (ADR 0019), whatever a worker left
    // in the column.
    waitingReason: MAY_WAIT.has(m.status) ? m.waitingReason : null,
  };
}
