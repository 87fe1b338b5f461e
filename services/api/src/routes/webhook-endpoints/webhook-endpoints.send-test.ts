import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { webhookDeliveries } from "@inboxerr/db";
import { AppError } from "@inboxerr/http";
import { webhookBody } from "@inboxerr/webhooks";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { WebhookTestResponse } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";

export function testWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/test",
    operationId: "testWebhookEndpoint",
    summary: "Send a webhook.test event to the endpoint",
    description:
      "A delivery like any other (signed, retried, logged), of a `webhook.test` event with `{endpointId, message}` as " +
      "its data; follow it at GET /webhook-deliveries/{id}. 409 while the endpoint is disabled.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 202: { description: "Queued for delivery", schema: WebhookTestResponse } },
    problems: [401, 404, 409],
    async handler({ params, principal, res }) {
      const endpoint = await endpointOf(deps, principal, params.id);
      // The dispatcher claims only active endpoints' deliveries: this one would just wait.
      if (endpoint.status !== "active") throw new AppError("conflict", "The endpoint is disabled; set its status to active first");
      const payload = webhookBody({
        type: "webhook.test",
        occurredAt: new Date(),
        data: { endpointId: endpoint.id, message: "A test event from Inboxerr: this endpoint receives your webhooks." },
      });
      // Inserted due now: the dispatcher's due loop delivers it (ADR 0023).
      const [row] = await deps.db
        .insert(webhookDeliveries)
        .values({ endpointId: endpoint.id, userId: endpoint.userId, eventId: randomUUID(), type: payload.type, payload, status: "pending", nextAttemptAt: sql`now()` })
        .returning({ id: webhookDeliveries.id });
      res.status(202).json({ deliveryId: row!.id });
    },
  });
}
