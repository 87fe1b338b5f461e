import { asc, desc, eq, sql, type SQLWrapper } from "drizzle-orm";
import { metricsBuckets, metricsFailureReasons, metricsSenderBuckets, senders, type MessageStatus } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { Principal } from "../auth/principal";
import type { ApiDeps } from "../deps";
import { visibleSenders } from "../fleet/access";
import { failureReasonsIn, bucketsIn, senderBucketsIn } from "./buckets";
import type { TimeWindow } from "./window";

/** How many failure reasons a summary lists, the most frequent first. */
export const TOP_FAILURE_REASONS = 20;

// sum() of bigint is numeric, which node-postgres returns as a string.
const total = (column: SQLWrapper) => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);

/**
 * The sender a metrics read is restricted to: one the caller sees (their own accounts' and the
 * shared ones, ADR 0017). Another user's private sender, or an unknown id, is 404 like any
 * fleet lookup; a sender deleted since is unknown too, though its counts stay.
 */
export async function metricsSender(deps: ApiDeps, principal: Principal, requested: string | undefined): Promise<string | null> {
  if (requested === undefined) return null;
  const id = requested.toLowerCase();
  const [row] = await visibleSenders(deps, principal, eq(senders.id, id));
  if (!row) throw notFound("Sender");
  return id;
}

/** Transitions into each status in the window: a scope's (user, or all), through one sender or any. */
export async function statusTotals(
  deps: Pick<ApiDeps, "db">,
  userId: string | null,
  senderId: string | null,
  window: TimeWindow,
): Promise<{ status: MessageStatus; n: number; latencyMs: number }[]> {
  if (senderId === null) {
    return deps.db
      .select({ status: metricsBuckets.status, n: total(metricsBuckets.count), latencyMs: total(metricsBuckets.latencyMsSum) })
      .from(metricsBuckets)
      .where(bucketsIn(userId, window))
      .groupBy(metricsBuckets.status);
  }
  return deps.db
    .select({ status: metricsSenderBuckets.status, n: total(metricsSenderBuckets.count), latencyMs: total(metricsSenderBuckets.latencyMsSum) })
    .from(metricsSenderBuckets)
    .where(senderBucketsIn(userId, senderId, window))
    .groupBy(metricsSenderBuckets.status);
}

/** The most frequent failure reasons in the window (ADR 0021), ties by reason so the list is stable. */
export async function topFailureReasons(
  deps: Pick<ApiDeps, "db">,
  userId: string | null,
  senderId: string | null,
  window: TimeWindow,
): Promise<{ reason: string; count: number }[]> {
  const count = total(metricsFailureReasons.count);
  return deps.db
    .select({ reason: metricsFailureReasons.reason, count })
    .from(metricsFailureReasons)
    .where(failureReasonsIn(userId, senderId, window))
    .groupBy(metricsFailureReasons.reason)
    .orderBy(desc(count), asc(metricsFailureReasons.reason))
    .limit(TOP_FAILURE_REASONS);
}
