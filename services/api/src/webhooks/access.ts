import { and, eq } from "drizzle-orm";
import { webhookDeliveries, webhookEndpoints, type WebhookDelivery, type WebhookEndpoint } from "@inboxerr/db";
import { notFound } from "@inboxerr/http";
import type { Principal } from "../auth/principal";
import type { ApiDeps } from "../deps";
import { resourceId } from "../http/ids";

// Endpoints and deliveries are their owner's only, an admin's included (ADR 0023): another
// user's is a 404, never a 403 that would tell it exists.

export async function endpointOf(deps: ApiDeps, principal: Pick<Principal, "userId">, rawId: string): Promise<WebhookEndpoint> {
  const id = resourceId(rawId, "Webhook endpoint");
  const [row] = await deps.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.userId, principal.userId)));
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

export async function deliveryOf(deps: ApiDeps, principal: Pick<Principal, "userId">, rawId: string): Promise<WebhookDelivery> {
  const id = resourceId(rawId, "Webhook delivery");
  const [row] = await deps.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.userId, principal.userId)));
  if (!row) throw notFound("Webhook delivery");
  return row;
}
