export {
  GatewayRequestError,
  type CancelResult,
  type MessageStateResult,
  type GatewayDriver,
  type OutboundSms,
  type RegisteredWebhook,
  type SendResult,
  type WebhookRegistration,
} from "./driver";
export {
  createSmsGateDriver,
  smsGateDriverFromSettings,
  type SmsGateDriverOptions,
  type SmsGateSettings,
} from "./smsgate";
export { cleanGatewayText } from "./http";
export { type GatewayDevice, type GatewaySimCard } from "./devices";
export {
  signWebhook,
  verifyWebhookSignature,
  type SignatureFailure,
  type SignatureVerdict,
  type VerifyWebhookSignatureInput,
} from "./signature";
export {
  WEBHOOK_EVENTS,
  SMSGATE_EVENT_NAMES,
  isKnownWebhookEvent,
  senderOf,
  webhookEnvelopeSchema,
  smsGateWebhookSchema,
  type WebhookEventName,
  type WebhookEnvelope,
  type SmsGateWebhook,
  type SmsSentPayload,
  type SmsDeliveredPayload,
  type SmsCancelledPayload,
  type SmsFailedPayload,
  type SmsReceivedPayload,
  type SystemPingPayload,
} from "./webhook-types";
export { isPreTransmissionFailure, PRE_TRANSMISSION_FAILURES, type PreTransmissionFailure } from "./failure-reasons";
