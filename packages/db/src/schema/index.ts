// The schema as drizzle sees it (createDb, drizzle-kit); explicit so nothing leaks in unseen.
export { apiKeys, users, USER_ROLES, type ApiKey, type NewApiKey, type NewUser, type User, type UserRole } from "./users";
export {
  batches,
  MESSAGE_ENCODINGS,
  messageEvents,
  messages,
  type Batch,
  type Message,
  type MessageEncoding,
  type MessageEvent,
  type NewBatch,
  type NewMessage,
  type NewMessageEvent,
} from "./messages";
export { idempotencyKeys, type IdempotencyKey, type NewIdempotencyKey } from "./idempotency";
export {
  gatewayWebhookEvents,
  inboundMessages,
  type GatewayWebhookEvent,
  type InboundMessage,
  type NewGatewayWebhookEvent,
  type NewInboundMessage,
} from "./webhooks";
export {
  metricsAppliedEvents,
  metricsBuckets,
  metricsReconcileState,
  type MetricsAppliedEvent,
  type MetricsBucket,
  type MetricsReconcileState,
  type NewMetricsBucket,
} from "./metrics";
