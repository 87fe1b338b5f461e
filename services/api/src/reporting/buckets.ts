import { and, eq, gte, lt, type SQL } from "drizzle-orm";
import { metricsBuckets } from "@inboxerr/db";
import type { TimeWindow } from "./window";

/** metrics_buckets rows of one scope (a tenant, or all when null) whose minute starts in [from, to). */
export function bucketsIn(userId: string | null, window: TimeWindow): SQL | undefined {
  return and(
    ...(userId === null ? [] : [eq(metricsBuckets.userId, userId)]),
    gte(metricsBuckets.bucketStart, window.from),
    lt(metricsBuckets.bucketStart, window.to),
  );
}
