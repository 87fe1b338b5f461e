import { and, eq } from "drizzle-orm";
import { webhookEndpoints } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";

export function deleteWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "delete",
    path: "/webhook-endpoints/{id}",
    operationId: "deleteWebhookEndpoint",
    summary: "Remove a webhook endpoint with its deliveries",
    description: "Nothing more is delivered to it; its deliveries and their attempts go with it.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 204: { description: "Removed" } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Webhook endpoint");
      const gone = await deps.db
        .delete(webhookEndpoints)
        .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.userId, principal.userId)))
        .returning({ id: webhookEndpoints.id });
      if (gone.length === 0) throw notFound("Webhook endpoint");
      res.status(204).end();
    },
  });
}
