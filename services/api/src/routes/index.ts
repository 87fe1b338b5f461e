import type { RequestHandler } from "express";
import type { AccountLoginLimit } from "../auth/rate-limit";
import type { ApiDeps } from "../deps";
import type { Route } from "../http/route";
import { createApiKeyRoute } from "./api-keys/api-keys.create";
import { listApiKeysRoute } from "./api-keys/api-keys.list";
import { revokeApiKeyRoute } from "./api-keys/api-keys.revoke";
import { meRoute } from "./auth/auth.me";
import { registerRoute } from "./auth/auth.register";
import { tokenRoute } from "./auth/auth.token";
import { getBatchRoute } from "./batches/batches.get";
import { createGatewayAccountRoute } from "./gateway-accounts/gateway-accounts.create";
import { deleteGatewayAccountRoute } from "./gateway-accounts/gateway-accounts.delete";
import { getGatewayAccountRoute } from "./gateway-accounts/gateway-accounts.get";
import { listGatewayAccountsRoute } from "./gateway-accounts/gateway-accounts.list";
import { syncGatewayAccountRoute } from "./gateway-accounts/gateway-accounts.sync";
import { updateGatewayAccountRoute } from "./gateway-accounts/gateway-accounts.update";
import { listInboundMessagesRoute } from "./inbound-messages/inbound-messages.list";
import { bulkMessagesRoute } from "./messages/messages.bulk";
import { cancelMessageRoute } from "./messages/messages.cancel";
import { createMessageRoute } from "./messages/messages.create";
import { getMessageRoute } from "./messages/messages.get";
import { listMessagesRoute } from "./messages/messages.list";
import { metricsFailuresRoute } from "./metrics/metrics.failures";
import { metricsSummaryRoute } from "./metrics/metrics.summary";
import { metricsTimeseriesRoute } from "./metrics/metrics.timeseries";
import { listSenderEventsRoute } from "./senders/senders.events";
import { getSenderRoute } from "./senders/senders.get";
import { listSendersRoute } from "./senders/senders.list";
import { updateSenderRoute } from "./senders/senders.update";
import { getWebhookDeliveryRoute } from "./webhook-deliveries/webhook-deliveries.get";
import { retryWebhookDeliveryRoute } from "./webhook-deliveries/webhook-deliveries.retry";
import { createWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.create";
import { listWebhookDeliveriesRoute } from "./webhook-endpoints/webhook-endpoints.deliveries";
import { deleteWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.delete";
import { getWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.get";
import { listWebhookEndpointsRoute } from "./webhook-endpoints/webhook-endpoints.list";
import { replayWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.replay";
import { rotateWebhookSecretRoute } from "./webhook-endpoints/webhook-endpoints.rotate-secret";
import { testWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.send-test";
import { updateWebhookEndpointRoute } from "./webhook-endpoints/webhook-endpoints.update";

export type RateLimiters = { register: RequestHandler; login: RequestHandler; loginAccount: AccountLoginLimit };

/** Every /api/v1 route. Order matters only where paths overlap: /messages/bulk before /messages/{id}. */
export function apiRoutes(deps: ApiDeps, limits: RateLimiters): Route[] {
  return [
    registerRoute(deps, limits.register),
    tokenRoute(deps, limits.login, limits.loginAccount),
    meRoute(),
    createApiKeyRoute(deps),
    listApiKeysRoute(deps),
    revokeApiKeyRoute(deps),
    createMessageRoute(deps),
    bulkMessagesRoute(deps),
    listMessagesRoute(deps),
    getMessageRoute(deps),
    cancelMessageRoute(deps),
    getBatchRoute(deps),
    listInboundMessagesRoute(deps),
    metricsSummaryRoute(deps),
    metricsTimeseriesRoute(deps),
    metricsFailuresRoute(deps),
    createGatewayAccountRoute(deps),
    listGatewayAccountsRoute(deps),
    getGatewayAccountRoute(deps),
    updateGatewayAccountRoute(deps),
    deleteGatewayAccountRoute(deps),
    syncGatewayAccountRoute(deps),
    listSendersRoute(deps),
    getSenderRoute(deps),
    updateSenderRoute(deps),
    listSenderEventsRoute(deps),
    createWebhookEndpointRoute(deps),
    listWebhookEndpointsRoute(deps),
    getWebhookEndpointRoute(deps),
    updateWebhookEndpointRoute(deps),
    deleteWebhookEndpointRoute(deps),
    rotateWebhookSecretRoute(deps),
    testWebhookEndpointRoute(deps),
    replayWebhookEndpointRoute(deps),
    listWebhookDeliveriesRoute(deps),
    getWebhookDeliveryRoute(deps),
    retryWebhookDeliveryRoute(deps),
  ];
}
