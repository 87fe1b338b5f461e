import { and, eq, gte, lt, type SQL } from "drizzle-orm";
import { metricsBuckets, metricsFailureReasons, metricsSenderBuckets } from "@inboxerr/db";
import type { TimeWindow } from "./window";

/** metrics_buckets rows of one scope (a tenant, or all when null) whose minute starts in [from, to). */
export function bucketsIn(userId: string | null, window: TimeWindow): SQL | undefined {
  return and(
    ...(userId === null ? [] : [eq(metricsBuckets.userId, userId)]),
    gte(metricsBuckets.bucketStart, window.from),
    lt(metricsBuckets.bucketStart, window.to),
  );
}

/** bucketsIn for metrics_sender_buckets: one sender's rows of the scope. */
export function senderBucketsIn(userId: string | null, senderId: string, window: TimeWindow): SQL | undefined {
  return and(
    ...(userId === null ? [] : [eq(metricsSenderBuckets.userId, userId)]),
    eq(metricsSenderBuckets.senderId, senderId),
    gte(metricsSenderBuckets.bucketStart, window.from),
    lt(metricsSenderBuckets.bucketStart, window.to),
  );
}

/** bucketsIn for metrics_failure_reasons, of one sender when `senderId` is given. */
export function failureReasonsIn(userId: string | null, senderId: string | null, window: TimeWindow): SQL | undefined {
  return and(
    ...(userId === null ? [] : [eq(metricsFailureReasons.userId, userId)]),
    ...(senderId === null ? [] : [eq(metricsFailureReasons.senderId, senderId)]),
    gte(metricsFailureReasons.bucketStart, window.from),
    lt(metricsFailureReasons.bucketStart, window.to),
  );
}
