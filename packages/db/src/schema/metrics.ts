import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { MESSAGE_STATUSES } from "../status";
import { users } from "./users";
import { sqlList, tstz } from "./util";

/** Per-minute transition counts; hours and days are summed at read time. */
export const metricsBuckets = pgTable(
  "metrics_buckets",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // UTC minute of the server-side transition (message_events.occurred_at).
    bucketStart: tstz("bucket_start").notNull(),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(0),
    latencyMsSum: bigint("latency_ms_sum", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    // Unique per user/bucket/status: the upsert target, and it serves per-user range reads.
    primaryKey({ name: "metrics_buckets_pkey", columns: [t.userId, t.bucketStart, t.status] }),
    check("metrics_buckets_status_check", sql`${t.status} in ${sqlList(MESSAGE_STATUSES)}`),
    // Admin reads across every tenant filter by time alone; the primary key leads with user_id.
    index("metrics_buckets_bucket_start_idx").on(t.bucketStart),
  ],
);

/**
 * metrics_buckets per sender as well (ADR 0021): the same counts, of the events that name a
 * sender, per (user, sender), so a user's use of a shared sender is theirs alone. An event with
 * no sender (before its first attempt, part-1 messages) is in metrics_buckets only.
 */
export const metricsSenderBuckets = pgTable(
  "metrics_sender_buckets",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // No FK (as message_events.sender_id): a deleted sender's counts stay in the user's history.
    senderId: uuid("sender_id").notNull(),
    bucketStart: tstz("bucket_start").notNull(),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(0),
    latencyMsSum: bigint("latency_ms_sum", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    // The upsert target; serves a user's reads of one sender over a window.
    primaryKey({ name: "metrics_sender_buckets_pkey", columns: [t.userId, t.senderId, t.bucketStart, t.status] }),
    check("metrics_sender_buckets_status_check", sql`${t.status} in ${sqlList(MESSAGE_STATUSES)}`),
    // An admin's read of one sender across every tenant (a shared sender).
    index("metrics_sender_buckets_sender_id_bucket_start_idx").on(t.senderId, t.bucketStart),
  ],
);

/**
 * The sender_id of a failure-reason count whose event named no sender: a primary-key column
 * cannot be NULL, and the upsert needs that key. No sender has this id (gen_random_uuid is v4).
 */
export const NO_SENDER_ID = "00000000-0000-0000-0000-000000000000";

/** Failed events per normalised reason (ADR 0021), per user and sender, per minute like the buckets. */
export const metricsFailureReasons = pgTable(
  "metrics_failure_reasons",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // NO_SENDER_ID when the event named none; no FK, as metrics_sender_buckets.
    senderId: uuid("sender_id").notNull(),
    bucketStart: tstz("bucket_start").notNull(),
    // Normalised by the metrics-worker (at most 100 characters), so the key space stays bounded.
    reason: text("reason").notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    // The upsert target; time before sender, so it also serves a user's window over every sender
    // (failed rows are few: one sender's read filters them).
    primaryKey({ name: "metrics_failure_reasons_pkey", columns: [t.userId, t.bucketStart, t.senderId, t.reason] }),
    // Admin reads across every tenant filter by time alone.
    index("metrics_failure_reasons_bucket_start_idx").on(t.bucketStart),
  ],
);

/** Event ids already counted, written in the same transaction as the bucket upsert. */
export const metricsAppliedEvents = pgTable("metrics_applied_events", {
  // No FK to message_events: old events may be pruned while their counts stay.
  eventId: uuid("event_id").primaryKey(),
  appliedAt: tstz("applied_at").notNull().defaultNow(),
});

/**
 * metrics-worker's reconcile watermark (ADR 0008): every event published at or before
 * (published_at, event_id), in that order, is known to be in metrics_applied_events.
 * One row per reconciler (`name`), so another consumer could keep its own.
 */
export const metricsReconcileState = pgTable("metrics_reconcile_state", {
  name: text("name").primaryKey(),
  publishedAt: tstz("published_at").notNull(),
  eventId: uuid("event_id").notNull(),
  updatedAt: tstz("updated_at").notNull().defaultNow(),
});

export type MetricsBucket = typeof metricsBuckets.$inferSelect;
export type NewMetricsBucket = typeof metricsBuckets.$inferInsert;
export type MetricsSenderBucket = typeof metricsSenderBuckets.$inferSelect;
export type MetricsFailureReason = typeof metricsFailureReasons.$inferSelect;
export type MetricsAppliedEvent = typeof metricsAppliedEvents.$inferSelect;
export type MetricsReconcileState = typeof metricsReconcileState.$inferSelect;
