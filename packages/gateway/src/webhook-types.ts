import { z } from "zod";

/**
 * SMS Gate webhook events. Schemas are loose on purpose: extra fields pass through (the app
 * adds fields between versions) and only what Inboxerr relies on is required, because a 4xx
 * makes the phone retry an event for days.
 */
export const WEBHOOK_EVENTS = {
  smsReceived: "sms:received",
  smsSent: "sms:sent",
  smsDelivered: "sms:delivered",
  smsFailed: "sms:failed",
  smsCancelled: "sms:cancelled",
  systemPing: "system:ping",
} as const;

export type WebhookEventName = (typeof WEBHOOK_EVENTS)[keyof typeof WEBHOOK_EVENTS];

/** Every event the real gateway accepts in a registration, including ones Inboxerr ignores. */
export const SMSGATE_EVENT_NAMES = [
  "sms:received",
  "sms:data-received",
  "sms:sent",
  "sms:delivered",
  "sms:failed",
  "sms:cancelled",
  "system:ping",
  "mms:received",
  "mms:downloaded",
  "app:started",
] as const;

/** Phones send their local offset ("2024-06-22T15:46:11.000+07:00"); anything Date parses passes. */
const timestamp = z.string().refine((v) => !Number.isNaN(Date.parse(v)), "must be a date-time");
const phone = z.string().min(1);
// An optional number out of range or of the wrong type (a partsCount of 2^31, -1, 1.5 or "2")
// reads as absent: the rest of the report still applies, where refusing it would have the
// phone retry a report we can never take for days.
const optionalInt = (min: number, max: number) => z.number().int().min(min).max(max).nullish().catch(undefined);

/** Fields common to message events. `phoneNumber` is the older name; newer apps add sender/recipient. */
const messageFields = {
  messageId: z.string().min(1),
  phoneNumber: phone.optional(),
  sender: phone.nullish(),
  recipient: phone.nullish(),
  simNumber: optionalInt(1, 255),
};

const smsSentPayloadSchema = z.looseObject({
  ...messageFields,
  sentAt: timestamp,
  // A concatenated SMS has at most 255 parts (its part counter is one byte).
  partsCount: optionalInt(1, 255),
});

const smsDeliveredPayloadSchema = z.looseObject({ ...messageFields, deliveredAt: timestamp });

const smsFailedPayloadSchema = z.looseObject({
  ...messageFields,
  failedAt: timestamp,
  // A failure without a reason is still a failure: do not bounce it.
  reason: z.string().default("Unknown"),
});

// The gateway cancelled it before the phone took it (DELETE /messages/{id} while Pending).
const smsCancelledPayloadSchema = z.looseObject({ ...messageFields, cancelledAt: timestamp });

const smsReceivedPayloadSchema = z.looseObject({
  // Derived from the content by the phone: not unique, never a key.
  messageId: z.string().optional(),
  message: z.string(),
  phoneNumber: phone.optional(),
  sender: phone.nullish(),
  recipient: phone.nullish(),
  simNumber: optionalInt(1, 255),
  receivedAt: timestamp,
});

const systemPingPayloadSchema = z.looseObject({ health: z.unknown().optional() });

/** Any event, known or not: parse this first, then the typed union for the events you handle. */
export const webhookEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  webhookId: z.string(),
  deviceId: z.string(),
  event: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});

const envelope = <E extends string, P extends z.ZodType>(event: E, payload: P) =>
  webhookEnvelopeSchema.extend({ event: z.literal(event), payload });

export const smsGateWebhookSchema = z.discriminatedUnion("event", [
  envelope(WEBHOOK_EVENTS.smsReceived, smsReceivedPayloadSchema),
  envelope(WEBHOOK_EVENTS.smsSent, smsSentPayloadSchema),
  envelope(WEBHOOK_EVENTS.smsDelivered, smsDeliveredPayloadSchema),
  envelope(WEBHOOK_EVENTS.smsFailed, smsFailedPayloadSchema),
  envelope(WEBHOOK_EVENTS.smsCancelled, smsCancelledPayloadSchema),
  envelope(WEBHOOK_EVENTS.systemPing, systemPingPayloadSchema),
]);

export type WebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;
export type SmsGateWebhook = z.infer<typeof smsGateWebhookSchema>;
export type SmsSentPayload = z.infer<typeof smsSentPayloadSchema>;
export type SmsDeliveredPayload = z.infer<typeof smsDeliveredPayloadSchema>;
export type SmsFailedPayload = z.infer<typeof smsFailedPayloadSchema>;
export type SmsCancelledPayload = z.infer<typeof smsCancelledPayloadSchema>;
export type SmsReceivedPayload = z.infer<typeof smsReceivedPayloadSchema>;
export type SystemPingPayload = z.infer<typeof systemPingPayloadSchema>;

export function isKnownWebhookEvent(event: string): event is WebhookEventName {
  return (Object.values(WEBHOOK_EVENTS) as string[]).includes(event);
}

/** The other party of an outbound event: `recipient` on newer apps, `phoneNumber` on older. */
export function recipientOf(payload: { recipient?: string | null; phoneNumber?: string }): string | null {
  return payload.recipient ?? payload.phoneNumber ?? null;
}

/** Who sent an inbound SMS: `sender` on newer apps, `phoneNumber` on older. */
export function senderOf(payload: { sender?: string | null; phoneNumber?: string }): string | null {
  return payload.sender ?? payload.phoneNumber ?? null;
}
