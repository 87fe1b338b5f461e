import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { webhookEndpoints } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { cursorTimestamp, decodeCursor, encodeCursor } from "../../messages/cursor";
import { WebhookEndpointListQuery, WebhookEndpointListResponse } from "../../schemas/webhooks";
import { toWebhookEndpointJson } from "../../webhooks/serialize";

export function listWebhookEndpointsRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/webhook-endpoints",
    operationId: "listWebhookEndpoints",
    summary: "Your webhook endpoints, newest first",
    description: "Without their secrets. Keyset pagination: pass `nextCursor` back as `cursor` until it is null.",
    tags: ["webhooks"],
    auth: true,
    query: WebhookEndpointListQuery,
    responses: { 200: { description: "One page of endpoints", schema: WebhookEndpointListResponse } },
    problems: [400, 401],
    async handler({ query, principal, res }) {
      const where: SQL[] = [eq(webhookEndpoints.userId, principal.userId)];
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        where.push(sql`(${webhookEndpoints.createdAt}, ${webhookEndpoints.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
      }
      const rows = await deps.db
        .select({ row: webhookEndpoints, at: cursorTimestamp(webhookEndpoints.createdAt) })
        .from(webhookEndpoints)
        .where(and(...where))
        .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.row.id }) : null;
      res.json({ data: page.map((r) => toWebhookEndpointJson(r.row)), nextCursor });
    },
  });
}
