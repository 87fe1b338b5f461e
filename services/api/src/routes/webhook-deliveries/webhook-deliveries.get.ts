import { asc, eq } from "drizzle-orm";
import { webhookDeliveryAttempts } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { WebhookDeliveryDetailSchema } from "../../schemas/webhooks";
import { deliveryOf } from "../../webhooks/access";
import { toWebhookAttemptJson, toWebhookDeliveryJson } from "../../webhooks/serialize";

export function getWebhookDeliveryRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/webhook-deliveries/{id}",
    operationId: "getWebhookDelivery",
    summary: "One delivery with its body and every attempt",
    description: "`attempts` lists each HTTP attempt: status code (null when no answer came), error, the first 1 KB of the answer, duration.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The delivery", schema: WebhookDeliveryDetailSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const delivery = await deliveryOf(deps, principal, params.id);
      const attempts = await deps.db
        .select()
        .from(webhookDeliveryAttempts)
        .where(eq(webhookDeliveryAttempts.deliveryId, delivery.id))
        .orderBy(asc(webhookDeliveryAttempts.n), asc(webhookDeliveryAttempts.createdAt));
      res.json({ ...toWebhookDeliveryJson(delivery), payload: delivery.payload, attempts: attempts.map(toWebhookAttemptJson) });
    },
  });
}
