export { endpointWants, isWebhookEventType, messageEventType, WEBHOOK_EVENT_TYPES, webhookBody, type WebhookEvent, type WebhookEventType } from "./events";
export { generateWebhookSecret, signature, signedHeaders, verifySignature, type SignedHeaders } from "./signature";
export { retryDelayMs } from "./schedule";
export { checkTarget, checkUrlShape, forbiddenAddressReason, guardedLookup, UnsafeTargetError, type TargetPolicy } from "./target";
export { loadMessageRow, loadMessages, messageRowFields, senderOfMessage, toMessageJson, type MessageJson, type MessageRow } from "./resources";
