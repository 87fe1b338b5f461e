import { AppError } from "@inboxerr/http";
import {
  cleanGatewayText,
  isKnownWebhookEvent,
  senderOf,
  smsGateWebhookSchema,
  webhookEnvelopeSchema,
  type SmsGateWebhook,
} from "@inboxerr/gateway";
import { normalizePhone } from "@inboxerr/sms";

/** An outbound status report for one of our messages; `at` is the phone's time, as an instant. */
export type StatusReport =
  | { kind: "sent"; at: Date | undefined; partsCount: number | undefined }
  | { kind: "delivered"; at: Date | undefined }
  | { kind: "failed"; at: Date | undefined; reason: string };

/** What one webhook asks of the database, decided before it reaches the database. */
export type WebhookAction =
  | { kind: "report"; messageId: string; report: StatusReport }
  | { kind: "received"; fromNumber: string; text: string; receivedAt: Date }
  | { kind: "none" };

export type IncomingWebhook = {
  envelopeId: string;
  event: string;
  deviceId: string | null;
  /** The payload's messageId as sent (ours, or one we never issued), for the raw record. */
  messageId: string | null;
  /** The envelope as JSON text, stored raw in gateway_webhook_events. */
  json: string;
  action: WebhookAction;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns a verified raw body into an IncomingWebhook. Throws AppError (malformed JSON) or a
 * ZodError (a known event missing what we rely on), which the edge answers with 400.
 * Unknown events pass with the envelope checked only: they are stored and acknowledged.
 */
export function parseWebhook(raw: Buffer, defaultRegion: string): IncomingWebhook {
  const text = raw.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("malformed_json", "The webhook body is not valid JSON");
  }
  const event = (body as { event?: unknown } | null)?.event;
  // Known events parse once, envelope included; anything else only needs a sound envelope.
  const hook = typeof event === "string" && isKnownWebhookEvent(event) ? smsGateWebhookSchema.parse(body) : null;
  const envelope = hook ?? webhookEnvelopeSchema.parse(body);
  const payloadMessageId = typeof envelope.payload.messageId === "string" ? envelope.payload.messageId : null;
  return {
    envelopeId: envelope.id,
    event: envelope.event,
    deviceId: envelope.deviceId || null,
    // A received SMS's messageId is derived from its content: not one of ours, not a key.
    messageId: envelope.event === "sms:received" ? null : payloadMessageId,
    // The bytes as received (valid JSON, just parsed), so the record is the phone's own.
    json: text,
    action: hook ? actionOf(hook, defaultRegion) : { kind: "none" },
  };
}

function actionOf(hook: SmsGateWebhook, region: string): WebhookAction {
  switch (hook.event) {
    case "sms:sent":
    case "sms:delivered":
    case "sms:failed": {
      // Not a uuid: an SMS sent from the phone outside Inboxerr. Stored, never matched.
      if (!UUID.test(hook.payload.messageId)) return { kind: "none" };
      const messageId = hook.payload.messageId.toLowerCase();
      const report: StatusReport =
        hook.event === "sms:sent"
          ? { kind: "sent", at: utc(hook.payload.sentAt), partsCount: hook.payload.partsCount }
          : hook.event === "sms:delivered"
            ? { kind: "delivered", at: utc(hook.payload.deliveredAt) }
            : { kind: "failed", at: utc(hook.payload.failedAt), reason: cleanGatewayText(hook.payload.reason) };
      return { kind: "report", messageId, report };
    }
    case "sms:received": {
      const sender = senderOf(hook.payload);
      if (!sender) return { kind: "none" };
      const normalized = normalizePhone(sender, region);
      return {
        kind: "received",
        // Short codes and alphanumeric senders do not parse; keep what the phone saw.
        fromNumber: normalized.ok ? normalized.e164 : sender,
        text: hook.payload.message,
        receivedAt: utc(hook.payload.receivedAt) ?? new Date(),
      };
    }
    case "system:ping":
      return { kind: "none" };
  }
}

/** The phone's local time with its offset, as an instant (Dates are UTC inside). */
function utc(value: string): Date | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
