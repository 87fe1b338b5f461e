import { and, eq, sql } from "drizzle-orm";
import { sendAgain, webhookDeliveries } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { ReplayWebhookRequest, ReplayWebhookResponse } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";

export function replayWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/replay",
    operationId: "replayWebhookEndpoint",
    summary: "Deliver an endpoint's past deliveries again",
    description:
      "Every delivery to the endpoint created in [`since`, `until`) (default until now), whatever its status, goes out " +
      "again now with its original `webhook-id` and body, so a receiver that deduplicates by id sees each event once. " +
      "A disabled endpoint's replayed deliveries wait until it is active again.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    body: ReplayWebhookRequest,
    responses: { 202: { description: "How many deliveries will go out again", schema: ReplayWebhookResponse } },
    problems: [400, 401, 404],
    async handler({ params, body, principal, res }) {
      const endpoint = await endpointOf(deps, principal, params.id);
      const result = await deps.db
        .update(webhookDeliveries)
        .set(sendAgain())
        .where(
          and(
            eq(webhookDeliveries.endpointId, endpoint.id),
            // Compared in Postgres, to the microsecond a client may give (a Date keeps milliseconds).
            sql`${webhookDeliveries.createdAt} >= ${body.since}::timestamptz`,
            sql`${webhookDeliveries.createdAt} < ${body.until === undefined ? sql`now()` : sql`${body.until}::timestamptz`}`,
          ),
        );
      res.status(202).json({ replayed: result.rowCount ?? 0 });
    },
  });
}
