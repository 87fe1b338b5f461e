import { webhookEndpoints } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { CreatedWebhookEndpoint, CreateWebhookEndpointRequest, parsedBodies } from "../../schemas/webhooks";
import { parseEndpointBody } from "../../webhooks/body";
import { newEndpointSecret, requireSecretsKey } from "../../webhooks/secrets";
import { toWebhookEndpointJson } from "../../webhooks/serialize";
import { checkEndpointUrl } from "../../webhooks/target";

export function createWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/webhook-endpoints",
    operationId: "createWebhookEndpoint",
    summary: "Register a URL to receive your events",
    description:
      "Every event of yours whose type is in `events` (all when empty) is POSTed to `url`, signed per Standard Webhooks " +
      "with the `secret` this answer shows once. The URL must be https and resolve to public addresses unless the " +
      "operator allows otherwise (WEBHOOK_ALLOW_INSECURE, WEBHOOK_ALLOW_PRIVATE_TARGETS); a refused URL is a 422 naming " +
      "the reason, as is an unknown event type. The secret is stored encrypted: 503 without SECRETS_KEY.",
    tags: ["webhooks"],
    auth: true,
    body: CreateWebhookEndpointRequest,
    parseBody: parseEndpointBody(parsedBodies.create),
    responses: { 201: { description: "The endpoint, with its signing secret (shown only now)", schema: CreatedWebhookEndpoint } },
    problems: [400, 401, 422],
    async handler({ body, principal, res }) {
      await checkEndpointUrl(deps.config, body.url);
      const secret = newEndpointSecret(requireSecretsKey(deps.secrets));
      const [row] = await deps.db
        .insert(webhookEndpoints)
        .values({ userId: principal.userId, url: body.url, description: body.description ?? null, events: body.events ?? [], secret: secret.sealed })
        .returning();
      res.status(201).json({ ...toWebhookEndpointJson(row!), secret: secret.plain });
    },
  });
}
