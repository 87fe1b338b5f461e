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
export type MetricsAppliedEvent = typeof metricsAppliedEvents.$inferSelect;
export type MetricsReconcileState = typeof metricsReconcileState.$inferSelect;
