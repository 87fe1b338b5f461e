import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { webhookDeliveries } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { cursorTimestamp, decodeCursor, encodeCursor } from "../../messages/cursor";
import { IdParams } from "../../schemas/common";
import { WebhookDeliveryListQuery, WebhookDeliveryListResponse } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";
import { toWebhookDeliveryJson } from "../../webhooks/serialize";

export function listWebhookDeliveriesRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/webhook-endpoints/{id}/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "An endpoint's deliveries, newest first",
    description:
      "Filters `status`, `type`, `eventId`. Each delivery is one event to this endpoint; its `id` is the `webhook-id` header. " +
      "Keyset pagination: pass `nextCursor` back as `cursor` until it is null.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    query: WebhookDeliveryListQuery,
    responses: { 200: { description: "One page of deliveries", schema: WebhookDeliveryListResponse } },
    problems: [400, 401, 404],
    async handler({ params, query, principal, res }) {
      const endpoint = await endpointOf(deps, principal, params.id);
      const where: SQL[] = [eq(webhookDeliveries.endpointId, endpoint.id)];
      if (query.status) where.push(eq(webhookDeliveries.status, query.status));
      if (query.type) where.push(eq(webhookDeliveries.type, query.type));
      if (query.eventId) where.push(eq(webhookDeliveries.eventId, query.eventId));
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        // Walks webhook_deliveries_endpoint_id_created_at_idx from the cursor on.
        where.push(sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (${c.at}::timestamptz, ${c.id}::uuid)`);
      }
      const rows = await deps.db
        .select({ row: webhookDeliveries, at: cursorTimestamp(webhookDeliveries.createdAt) })
        .from(webhookDeliveries)
        .where(and(...where))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.row.id }) : null;
      res.json({ data: page.map((r) => toWebhookDeliveryJson(r.row)), nextCursor });
    },
  });
}
