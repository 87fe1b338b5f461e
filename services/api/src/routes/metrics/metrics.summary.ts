import { MESSAGE_STATUSES, type MessageStatus } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { metricsScope } from "../../reporting/scope";
import { metricsSender, statusTotals, TOP_FAILURE_REASONS, topFailureReasons } from "../../reporting/summary-reads";
import { resolveWindow } from "../../reporting/window";
import { MetricsSummaryQuery, MetricsSummarySchema } from "../../schemas/metrics";

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
      "Users read their own metrics; admins read every tenant summed, or one with `userId`. " +
      "`senderId` restricts the counts to the transitions of messages routed through that sender (one the caller sees: " +
      "their own accounts' or a shared one; another user's private sender is 404); a user's counts of a shared sender are their own messages only. " +
      `\`failureReasons\` lists the ${TOP_FAILURE_REASONS} most frequent reasons of the \`failed\` count, normalised (whitespace folded, ids as \`<id>\`, ` +
      "at most 100 characters; none recorded: `unknown`).",
    tags: ["metrics"],
    auth: true,
    query: MetricsSummaryQuery,
    responses: { 200: { description: "Counts per status, delivery rate and latency", schema: MetricsSummarySchema } },
    problems: [400, 401, 404],
    async handler({ query, principal, res }) {
      const window = resolveWindow(query);
      const userId = await metricsScope(deps, principal, query.userId);
      const senderId = await metricsSender(deps, principal, query.senderId);
      const [rows, failureReasons] = await Promise.all([
        statusTotals(deps, userId, senderId, window),
        topFailureReasons(deps, userId, senderId, window),
      ]);

      const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
      for (const r of rows) counts[r.status] = r.n;
      const { delivered, failed } = counts;
      const deliveredLatencyMs = rows.find((r) => r.status === "delivered")?.latencyMs ?? 0;
      res.json({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        userId,
        senderId,
        counts,
        deliveryRate: delivered + failed === 0 ? null : delivered / (delivered + failed),
        avgDeliveryLatencyMs: delivered === 0 ? null : Math.round(deliveredLatencyMs / delivered),
        failureReasons,
      });
    },
  });
}
