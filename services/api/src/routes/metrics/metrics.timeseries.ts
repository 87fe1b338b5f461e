import { and, inArray, sql } from "drizzle-orm";
import { metricsBuckets } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { bucketsIn } from "../../reporting/buckets";
import { metricsScope } from "../../reporting/scope";
import { bucketStarts, resolveSeriesWindow } from "../../reporting/window";
import { MetricsTimeseriesQuery, MetricsTimeseriesSchema } from "../../schemas/metrics";

const SERIES_STATUSES = ["sent", "delivered", "failed"] as const;
type SeriesStatus = (typeof SERIES_STATUSES)[number];

export function metricsTimeseriesRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/metrics/timeseries",
    operationId: "getMetricsTimeseries",
    summary: "Sent, delivered and failed per minute, hour or day",
    description:
      "A dense series: every bucket from `from` (floored to the granularity, UTC) up to `to`, zeros included. " +
      "Each bucket sums the minute buckets of the window `[from, to)` that fall in it, so the series adds up to " +
      "/metrics/summary over the same window (the first and last buckets are partial when the bounds are not aligned). " +
      "Same tenant rules as /metrics/summary.",
    tags: ["metrics"],
    auth: true,
    query: MetricsTimeseriesQuery,
    responses: { 200: { description: "The series, oldest first", schema: MetricsTimeseriesSchema } },
    problems: [400, 401, 404],
    async handler({ query, principal, res }) {
      const window = resolveSeriesWindow(query, query.granularity);
      const starts = bucketStarts(window, query.granularity);
      const userId = await metricsScope(deps, principal, query.userId);
      // The granularity comes from a closed enum, so it can be inlined; as a bind parameter the
      // SELECT and GROUP BY expressions would differ ($1 vs $2) and Postgres would refuse them.
      const start = sql`date_trunc(${sql.raw(`'${query.granularity}'`)}, ${metricsBuckets.bucketStart} at time zone 'UTC')`;
      const rows = await deps.db
        .select({
          startMs: sql<number>`extract(epoch from ${start}) * 1000`.mapWith(Number),
          status: metricsBuckets.status,
          n: sql<number>`sum(${metricsBuckets.count})`.mapWith(Number),
        })
        .from(metricsBuckets)
        .where(and(bucketsIn(userId, window), inArray(metricsBuckets.status, [...SERIES_STATUSES])))
        .groupBy(start, metricsBuckets.status);

      const byStart = new Map(starts.map((d) => [d.getTime(), { start: d.toISOString(), sent: 0, delivered: 0, failed: 0 }]));
      for (const r of rows) {
        const bucket = byStart.get(r.startMs);
        // Only SERIES_STATUSES are selected; every start is in the map (both floor to the same UTC grid).
        if (bucket) bucket[r.status as SeriesStatus] = r.n;
      }
      res.json({
        granularity: query.granularity,
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        userId,
        buckets: [...byStart.values()],
      });
    },
  });
}
