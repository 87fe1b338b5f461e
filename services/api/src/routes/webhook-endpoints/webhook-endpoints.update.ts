import { eq, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { webhookEndpoints } from "@inboxerr/db";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { parsedBodies, UpdateWebhookEndpointRequest, WebhookEndpointSchema } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";
import { parseEndpointBody } from "../../webhooks/body";
import { toWebhookEndpointJson } from "../../webhooks/serialize";
import { checkEndpointUrl } from "../../webhooks/target";

const DISABLED_BY_USER = "disabled by user";

export function updateWebhookEndpointRoute(deps: ApiDeps) {
  return defineRoute({
    method: "patch",
    path: "/webhook-endpoints/{id}",
    operationId: "updateWebhookEndpoint",
    summary: "Change a webhook endpoint, or disable or re-enable it",
    description:
      "The fields given are changed; a new `url` is checked as on creation (422). `status: disabled` stops deliveries " +
      "(`disabledReason` \"disabled by user\"); `status: active` re-enables an endpoint however it was disabled (by you, " +
      "a 410 answer, or days of failures) and clears that record, and its due deliveries then go out.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    body: UpdateWebhookEndpointRequest,
    parseBody: parseEndpointBody(parsedBodies.update),
    responses: { 200: { description: "The endpoint, without its secret", schema: WebhookEndpointSchema } },
    problems: [400, 401, 404, 422],
    async handler({ params, body, principal, res }) {
      const endpoint = await endpointOf(deps, principal, params.id);
      if (body.url !== undefined && body.url !== endpoint.url) await checkEndpointUrl(deps.config, body.url);
      const { status, ...fields } = body;
      // Status moves are decided on the row as it is at the write, not as read above: the
      // dispatcher disables endpoints too, and its reason must not be overwritten by ours.
      const wasDisabled = sql`${webhookEndpoints.status} = 'disabled'`;
      const move: PgUpdateSetSource<typeof webhookEndpoints> =
        status === "active"
          ? {
              status,
              disabledReason: null,
              disabledAt: null,
              // An active endpoint keeps its failure clock: a PATCH must not postpone its disabling.
              failingSince: sql`case when ${wasDisabled} then null else ${webhookEndpoints.failingSince} end`,
            }
          : status === "disabled"
            ? {
                status,
                disabledReason: sql`case when ${wasDisabled} then ${webhookEndpoints.disabledReason} else ${DISABLED_BY_USER} end`,
                disabledAt: sql`coalesce(${webhookEndpoints.disabledAt}, now())`,
              }
            : {};
      const [row] = await deps.db
        .update(webhookEndpoints)
        .set({ ...fields, ...move, updatedAt: new Date() })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .returning();
      res.json(toWebhookEndpointJson(row!));
    },
  });
}
