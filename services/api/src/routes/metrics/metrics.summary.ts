import { sql } from "drizzle-orm";
import { MESSAGE_STATUSES, metricsBuckets, type MessageStatus } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { bucketsIn } from "../../reporting/buckets";
import { metricsScope } from "../../reporting/scope";
import { resolveWindow } from "../../reporting/window";
import { MetricsSummaryQuery, MetricsSummarySchema } from "../../schemas/metrics";

// sum() of bigint is numeric, which node-postgres returns as a string.
const total = (column: typeof metricsBuckets.count | typeof metricsBuckets.latencyMsSum) =>
  sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);

export function metricsSummaryRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/metrics/summary",
    operationId: "getMetricsSummary",
    summary: "Messages that entered each status in a window",
    description:
      "Counts the messages that entered each status in UTC minute buckets starting in `[from, to)` (default: the last 24 h). " +
      "Each message enters a status at most once, so `delivered` and `failed` are the messages that reached those states in the window. " +
      "A state a transition skipped counts as entered with it, in its minute: `sms:sent` overtaking the sender's `accepted` write still counts `accepted`, " +
      "`sms:delivered` arriving before `sms:sent` still counts `sent`, so for the messages going through accepted ≥ sent ≥ delivered. " +
      "`failed` implies nothing (a message may fail before the gateway had it). " +
      "Creating a message is not a transition (ADR 0002): `scheduled` and `queued` count only later moves into them, which no path makes today, " +
      "so they read 0; `sending` counts the messages picked up for sending, and a bulk's size is `total` in GET /batches/{id}. " +
      "Users read their own metrics; admins read every tenant summed, or one with `userId`.",
    tags: ["metrics"],
    auth: true,
    query: MetricsSummaryQuery,
    responses: { 200: { description: "Counts per status, delivery rate and latency", schema: MetricsSummarySchema } },
    problems: [400, 401, 404],
    async handler({ query, principal, res }) {
      const window = resolveWindow(query);
      const userId = await metricsScope(deps, principal, query.userId);
      const rows = await deps.db
        .select({ status: metricsBuckets.status, n: total(metricsBuckets.count), latencyMs: total(metricsBuckets.latencyMsSum) })
        .from(metricsBuckets)
        .where(bucketsIn(userId, window))
        .groupBy(metricsBuckets.status);

      const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
      for (const r of rows) counts[r.status] = r.n;
      const { delivered, failed } = counts;
      const deliveredLatencyMs = rows.find((r) => r.status === "delivered")?.latencyMs ?? 0;
      res.json({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        userId,
        counts,
        deliveryRate: delivered + failed === 0 ? null : delivered / (delivered + failed),
        avgDeliveryLatencyMs: delivered === 0 ? null : Math.round(deliveredLatencyMs / delivered),
      });
    },
  });
}
