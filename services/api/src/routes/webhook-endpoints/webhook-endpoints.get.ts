import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { WebhookEndpointSchema } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";
import { toWebhookEndpointJson } from "../../webhooks/serialize";

export function getWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "get",
    path: "/webhook-endpoints/{id}",
    operationId: "getWebhookEndpoint",
    summary: "One of your webhook endpoints",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The endpoint, without its secret", schema: WebhookEndpointSchema } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      res.json(toWebhookEndpointJson(await endpointOf(deps, principal, params.id)));
    },
  });
}
