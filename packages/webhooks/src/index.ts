export { endpointWants, isWebhookEventType, messageEventType, WEBHOOK_EVENT_TYPES, webhookBody, type WebhookEvent, type WebhookEventType } from "./events";
export { generateWebhookSecret, signature, signedHeaders, verifySignature, type SignedHeaders } from "./signature";
export { retryDelayMs } from "./schedule";
export { checkTarget, checkUrlShape, forbiddenAddressReason, guardedLookup, UnsafeTargetError, type TargetPolicy } from "./target";
export { batchStatusCounts, toBatchJson, type BatchCounts } from "./resources/batch";
export { toInboundJson, type InboundFields } from "./resources/inbound";
export { batchCompletions } from "./sources/batch-completed";
export { claimInboundEvents, markInboundPublished } from "./sources/inbound";
export { claimSenderEvents, markSenderEventsPublished } from "./sources/sender-events";
