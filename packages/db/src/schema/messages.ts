import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgTable, smallint, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { MESSAGE_STATUSES, NON_TERMINAL_STATUSES } from "../status";
import { ATTEMPT_STATUSES, LIVE_ATTEMPT_STATUSES, senders, WAITING_REASONS } from "./fleet";
import { users } from "./users";
import { createdAt, sqlList, timestamps, tstz, uuidPk } from "./util";

export const MESSAGE_ENCODINGS = ["GSM-7", "UCS-2"] as const;
export type MessageEncoding = (typeof MESSAGE_ENCODINGS)[number];

export const batches = pgTable(
  "batches",
  {
    ...uuidPk(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    total: integer("total").notNull(),
    ...createdAt(),
  },
  (t) => [index("batches_user_id_idx").on(t.userId)],
);

export const messages = pgTable(
  "messages",
  {
    ...uuidPk(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    batchId: uuid("batch_id").references(() => batches.id, { onDelete: "set null" }),
    to: text("to").notNull(), // E.164
    text: text("text").notNull(),
    encoding: text("encoding", { enum: MESSAGE_ENCODINGS }).notNull(),
    segments: integer("segments").notNull(),
    // No default: the api decides between scheduled and queued, and stamps the matching *_at.
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    // Passed to SMS Gate as is; higher is dequeued first.
    priority: smallint("priority").notNull().default(0),
    // The requested send time (NULL = now); not the time the message entered `scheduled`.
    scheduledAt: tstz("scheduled_at"),
    validUntil: tstz("valid_until"),
    customId: text("custom_id"),
    error: text("error"),
    // partsCount from sms:sent; delivered once parts_delivered reaches it (else `segments`).
    partsExpected: integer("parts_expected"),
    partsDelivered: integer("parts_delivered").notNull().default(0),
    // Claims that moved it to `sending` (part 1's counter, a crash retry included); the API's
    // attemptCount is the number of message_attempts rows instead (ADR 0017).
    attempts: integer("attempts").notNull().default(0),
    // The sender of the current (last) attempt; NULL before the first, and for part-1 messages.
    senderId: uuid("sender_id").references(() => senders.id, { onDelete: "set null" }),
    // `from` on the send request, resolved to a sender: routing uses only that one.
    pinnedSenderId: uuid("pinned_sender_id").references(() => senders.id, { onDelete: "set null" }),
    // Why a queued message has no attempt yet; NULL once one starts.
    waitingReason: text("waiting_reason", { enum: WAITING_REASONS }),
    ...timestamps(),
    queuedAt: tstz("queued_at"),
    sendingAt: tstz("sending_at"),
    acceptedAt: tstz("accepted_at"),
    sentAt: tstz("sent_at"),
    deliveredAt: tstz("delivered_at"),
    failedAt: tstz("failed_at"),
    cancelledAt: tstz("cancelled_at"),
    expiredAt: tstz("expired_at"),
  },
  (t) => [
    check("messages_status_check", sql`${t.status} in ${sqlList(MESSAGE_STATUSES)}`),
    check("messages_encoding_check", sql`${t.encoding} in ${sqlList(MESSAGE_ENCODINGS)}`),
    check("messages_priority_check", sql`${t.priority} between -128 and 127`),
    check("messages_segments_check", sql`${t.segments} > 0`),
    check("messages_waiting_reason_check", sql`${t.waitingReason} in ${sqlList(WAITING_REASONS)}`),
    // customId is optional; uniqueness only binds the messages that carry one.
    uniqueIndex("messages_user_id_custom_id_idx")
      .on(t.userId, t.customId)
      .where(sql`${t.customId} is not null`),
    // GET /messages: newest first, keyset cursor on (created_at, id). NULLS FIRST matches a
    // plain `ORDER BY ... DESC`; drizzle's default (NULLS LAST) would force a sort.
    index("messages_user_id_created_at_id_idx").on(t.userId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // GET /batches/:id counts; single sends have no batch, so they stay out of the index.
    index("messages_batch_id_status_idx")
      .on(t.batchId, t.status)
      .where(sql`${t.batchId} is not null`),
    // Sweeper scans for queued/stale work; terminal rows (the vast majority) stay out.
    index("messages_status_updated_at_idx")
      .on(t.status, t.updatedAt)
      .where(sql`${t.status} in ${sqlList(NON_TERMINAL_STATUSES)}`),
    // A user's messages to one number (the `phone` filter, per-user reply lookups).
    index("messages_user_id_to_idx").on(t.userId, t.to),
    // Inbound attribution: the latest message to a number, whoever sent it.
    index("messages_to_created_at_idx").on(t.to, t.createdAt.desc().nullsFirst()),
    index("messages_user_id_status_idx").on(t.userId, t.status),
    // Deleting a sender sets these NULL; the partial indexes keep that from scanning every
    // message, and serve "messages waiting for this pinned sender".
    index("messages_sender_id_idx")
      .on(t.senderId)
      .where(sql`${t.senderId} is not null`),
    index("messages_pinned_sender_id_status_idx")
      .on(t.pinnedSenderId, t.status)
      .where(sql`${t.pinnedSenderId} is not null`),
  ],
);

/** The outbox: one row per status transition, published to each consumer's queue that takes its status (OUTBOX_QUEUE_STATUSES). */
export const messageEvents = pgTable(
  "message_events",
  {
    ...uuidPk(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    // Copied from the message so consumers need no join; the message FK already cascades.
    userId: uuid("user_id").notNull(),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    // Server time of the transition: metrics bucket by it, never by the phone's clock.
    occurredAt: tstz("occurred_at").notNull().defaultNow(),
    // ms from when the message became due (created_at, or scheduled_at if later) to occurred_at.
    // bigint: a message stuck for weeks would overflow an int4 and fail its transition.
    latencyMs: bigint("latency_ms", { mode: "number" }),
    payload: jsonb("payload"),
    // The message's sender when the event was written (its current attempt's; NULL before any
    // attempt, and for part-1 messages), so metrics count per sender without a join. No FK: the
    // outbox is history, and deleting a sender must neither touch its events (a SET NULL would
    // rewrite millions of rows, and need an index to find them) nor lose their counts.
    senderId: uuid("sender_id"),
    // A `failed` event's reason: the message's error as it failed (its first 200 characters,
    // eventErrorSql), so failure reasons are counted without reading the message. NULL for
    // every other status.
    error: text("error"),
    // Set by the outbox relay once the event is on the queue.
    publishedAt: tstz("published_at"),
    ...createdAt(),
  },
  (t) => [
    check("message_events_status_check", sql`${t.status} in ${sqlList(MESSAGE_STATUSES)}`),
    // Outbox relay: only the unpublished rows, oldest first.
    index("message_events_created_at_idx")
      .on(t.createdAt)
      .where(sql`${t.publishedAt} is null`),
    index("message_events_message_id_occurred_at_idx").on(t.messageId, t.occurredAt),
    // metrics-worker's reconcile pass walks published events in (published_at, id) order from
    // its watermark (ADR 0008).
    index("message_events_published_at_id_idx")
      .on(t.publishedAt, t.id)
      .where(sql`${t.publishedAt} is not null`),
  ],
);

export const messageAttempts = pgTable(
  "message_attempts",
  {
    // The id the gateway knows (≤ 36 chars). A part-1 message's one attempt has its message id.
    ...uuidPk(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    // NULL for attempts migrated from part 1, made through the env's gateway before senders
    // existed, and for attempts whose sender was deleted with its account (ADR 0017).
    senderId: uuid("sender_id").references(() => senders.id, { onDelete: "set null" }),
    n: smallint("n").notNull(),
    status: text("status", { enum: ATTEMPT_STATUSES }).notNull(),
    error: text("error"),
    // created_at is when the attempt began (the claim that moved it to `sending`).
    ...timestamps(),
    acceptedAt: tstz("accepted_at"),
    sentAt: tstz("sent_at"),
    deliveredAt: tstz("delivered_at"),
    failedAt: tstz("failed_at"),
    cancelledAt: tstz("cancelled_at"),
    // Failover asked the gateway to cancel it (ADR 0022); set before the call, so an unanswered
    // cancel is retried only after a pause, and the message shows failover_unconfirmed.
    cancelRequestedAt: tstz("cancel_requested_at"),
  },
  (t) => [
    check("message_attempts_status_check", sql`${t.status} in ${sqlList(ATTEMPT_STATUSES)}`),
    check("message_attempts_n_check", sql`${t.n} >= 1`),
    // GET /messages/:id lists them in order; n is the attempt count.
    unique("message_attempts_message_id_n_key").on(t.messageId, t.n),
    // At most one live attempt per message (DESIGN-2.md): a second claim cannot open another.
    uniqueIndex("message_attempts_live_idx")
      .on(t.messageId)
      .where(sql`${t.status} in ${sqlList(LIVE_ATTEMPT_STATUSES)}`),
    // A sender's usage today and this month (GET /senders, budgets rebuilt after a Redis flush).
    index("message_attempts_sender_id_created_at_idx").on(t.senderId, t.createdAt),
    // Failover's scan (ADR 0022): an unseen sender's accepted, not yet sent attempts, oldest
    // first; a healthy fleet has no unseen sender, so the pass reads nothing.
    index("message_attempts_sender_id_accepted_at_idx")
      .on(t.senderId, t.acceptedAt)
      .where(sql`${t.status} = 'accepted'`),
    // …and those whose cancel was asked before, whatever their sender now (asked again until answered).
    index("message_attempts_cancel_requested_at_idx")
      .on(t.cancelRequestedAt)
      .where(sql`${t.status} = 'accepted' and ${t.cancelRequestedAt} is not null`),
    // Automatic pause looks only at senders with a recent failure.
    index("message_attempts_sender_id_failed_at_idx")
      .on(t.senderId, t.failedAt)
      .where(sql`${t.status} = 'failed'`),
  ],
);

export type Batch = typeof batches.$inferSelect;
export type NewBatch = typeof batches.$inferInsert;
export type Message = typeof messages.$inferSelect;
export type NewMessage = typeof messages.$inferInsert;
export type MessageEvent = typeof messageEvents.$inferSelect;
export type MessageAttempt = typeof messageAttempts.$inferSelect;
export type NewMessageAttempt = typeof messageAttempts.$inferInsert;
export type NewMessageEvent = typeof messageEvents.$inferInsert;
