import type { WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint } from "@inboxerr/db";

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** Never the secret, sealed or not: it is shown once, by POST and rotate-secret. */
export function toWebhookEndpointJson(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    status: e.status,
    disabledReason: e.disabledReason,
    disabledAt: iso(e.disabledAt),
    failingSince: iso(e.failingSince),
    lastSuccessAt: iso(e.lastSuccessAt),
    secretRotatedUntil: iso(e.previousSecretExpiresAt),
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function toWebhookDeliveryJson(d: WebhookDelivery) {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    lastResponse: d.lastResponse,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: iso(d.deliveredAt),
    updatedAt: d.updatedAt.toISOString(),
  };
}

export function toWebhookAttemptJson(a: WebhookDeliveryAttempt) {
  return { n: a.n, statusCode: a.statusCode, error: a.error, response: a.response, durationMs: a.durationMs, createdAt: a.createdAt.toISOString() };
}
