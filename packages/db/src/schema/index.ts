// The schema as drizzle sees it (createDb, drizzle-kit); explicit so nothing leaks in unseen.
export { apiKeys, users, USER_ROLES, type ApiKey, type NewApiKey, type NewUser, type User, type UserRole } from "./users";
export {
  batches,
  MESSAGE_ENCODINGS,
  messageAttempts,
  messageEvents,
  messages,
  type Batch,
  type Message,
  type MessageAttempt,
  type MessageEncoding,
  type MessageEvent,
  type NewBatch,
  type NewMessageAttempt,
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
  metricsFailureReasons,
  metricsReconcileState,
  metricsSenderBuckets,
  NO_SENDER_ID,
  type MetricsAppliedEvent,
  type MetricsBucket,
  type MetricsFailureReason,
  type MetricsReconcileState,
  type MetricsSenderBucket,
  type NewMetricsBucket,
} from "./metrics";
export {
  ATTEMPT_STATUSES,
  DEFAULT_ACCOUNT_NAME,
  GATEWAY_ACCOUNT_STATUSES,
  gatewayAccounts,
  LIVE_ATTEMPT_STATUSES,
  SENDER_STATUSES,
  senders,
  WAITING_REASONS,
  type AttemptStatus,
  type GatewayAccount,
  type GatewayAccountStatus,
  type NewGatewayAccount,
  type NewSender,
  type Sender,
  type SenderStatus,
  type WaitingReason,
} from "./fleet";
