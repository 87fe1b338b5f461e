import { and, eq } from "drizzle-orm";
import { sendAgain, webhookDeliveries } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { resourceId } from "../../http/ids";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { WebhookDeliverySchema } from "../../schemas/webhooks";
import { toWebhookDeliveryJson } from "../../webhooks/serialize";

export function retryWebhookDeliveryRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/webhook-deliveries/{id}/retry",
    operationId: "retryWebhookDelivery",
    summary: "Deliver one delivery again, now",
    description:
      "Whatever its status (an exhausted one included), it goes out again now with the same `webhook-id` and body. " +
      "It waits while its endpoint is disabled.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 202: { description: "The delivery, due now", schema: WebhookDeliverySchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const id = resourceId(params.id, "Webhook delivery");
      const [row] = await deps.db
        .update(webhookDeliveries)
        .set(sendAgain())
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.userId, principal.userId)))
        .returning();
      if (!row) throw notFound("Webhook delivery");
      res.status(202).json(toWebhookDeliveryJson(row));
    },
  });
}
