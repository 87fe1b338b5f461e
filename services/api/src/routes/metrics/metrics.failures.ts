import { asc, desc, sql } from "drizzle-orm";
import { metricsFailureReasons, NO_SENDER_ID } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { failureReasonsIn } from "../../reporting/buckets";
import { metricsScope } from "../../reporting/scope";
import { metricsSender } from "../../reporting/summary-reads";
import { resolveWindow } from "../../reporting/window";
import { MetricsFailuresQuery, MetricsFailuresSchema } from "../../schemas/metrics";

/** Rows per answer; reasons are bounded (ADR 0021), so only a large fleet over a long window gets near it. */
const MAX_FAILURE_ROWS = 1_000;

export function metricsFailuresRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/metrics/failures",
    operationId: "getMetricsFailures",
    summary: "Failed messages per sender and reason in a window",
    description:
      "Counts the messages that failed in UTC minute buckets starting in `[from, to)` (default: the last 24 h), per sender and " +
      "normalised reason (whitespace folded, ids as `<id>`, at most 100 characters; none recorded: `unknown`), as GET /metrics/summary's " +
      "`failureReasons` but split by sender. A failure is counted under the sender of the message's attempt when it failed; " +
      "`senderId: null` rows are failures before any sender was chosen. " +
      "Users read their own; admins read every tenant summed, or one with `userId`. `senderId` restricts to one sender the caller sees " +
      `(another user's private sender is 404). At most ${MAX_FAILURE_ROWS} rows, most failures first (\`truncated\` says when there were more).`,
    tags: ["metrics"],
    auth: true,
    query: MetricsFailuresQuery,
    responses: { 200: { description: "Failures per sender and reason", schema: MetricsFailuresSchema } },
    problems: [400, 401, 404],
    async handler({ query, principal, res }) {
      const window = resolveWindow(query);
      const userId = await metricsScope(deps, principal, query.userId);
      const senderId = await metricsSender(deps, principal, query.senderId);
      // sum() of bigint is numeric, which node-postgres returns as a string.
      const count = sql<number>`sum(${metricsFailureReasons.count})`.mapWith(Number);
      const rows = await deps.db
        .select({ senderId: metricsFailureReasons.senderId, reason: metricsFailureReasons.reason, count })
        .from(metricsFailureReasons)
        .where(failureReasonsIn(userId, senderId, window))
        .groupBy(metricsFailureReasons.senderId, metricsFailureReasons.reason)
        .orderBy(desc(count), asc(metricsFailureReasons.senderId), asc(metricsFailureReasons.reason))
        .limit(MAX_FAILURE_ROWS + 1);
      res.json({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        userId,
        senderId,
        data: rows.slice(0, MAX_FAILURE_ROWS).map((r) => ({ ...r, senderId: r.senderId === NO_SENDER_ID ? null : r.senderId })),
        truncated: rows.length > MAX_FAILURE_ROWS,
      });
    },
  });
}
