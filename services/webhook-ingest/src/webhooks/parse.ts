import { AppError, MAX_JSON_DEPTH, nestedDeeperThan } from "@inboxerr/http";
import {
  cleanGatewayText,
  isKnownWebhookEvent,
  senderOf,
  smsGateWebhookSchema,
  webhookEnvelopeSchema,
  type SmsGateWebhook,
} from "@inboxerr/gateway";
import { normalizePhone } from "@inboxerr/sms";
import { mayHoldUnstorable, storable } from "./json-body";

/** An outbound status report for one of our messages; `at` is the phone's time, as an instant. */
export type StatusReport =
  | { kind: "sent"; at: Date | undefined; partsCount: number | undefined }
  | { kind: "delivered"; at: Date | undefined }
  | { kind: "failed"; at: Date | undefined; reason: string }
  /** The gateway confirms the attempt never left it (ADR 0022): a new attempt follows. */
  | { kind: "cancelled"; at: Date | undefined };

/** What one webhook asks of the database, decided before it reaches the database. */
type WebhookAction =
  | { kind: "report"; messageId: string; report: StatusReport }
  | { kind: "received"; fromNumber: string; text: string; receivedAt: Date }
  /** A device's health ping: its senders are seen (ADR 0022). */
  | { kind: "ping" }
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
  /** Set by the route for /webhooks/sms-gate/:accountId: its reports act on that account's attempts only. */
  accountId?: string | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// SMS Gate's envelope ids are 21-character nanoids. The id is a unique-index key, and Postgres
// refuses an index entry over ~2.7 kB (a 500 on every retry), so a longer one is refused here.
const MAX_ENVELOPE_ID_LENGTH = 256;

/**
 * Turns a verified raw body into an IncomingWebhook. Throws AppError (malformed JSON, nested
 * past MAX_JSON_DEPTH, an oversized envelope id) or a ZodError (a known event missing what we
 * rely on), which the edge answers with 400. Unknown events pass with the envelope checked
 * only: they are stored and acknowledged. Every string comes out storable (json-body.ts).
 */
export function parseWebhook(raw: Buffer, defaultRegion: string): IncomingWebhook {
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) {
    throw new AppError("malformed_json", `The webhook body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const text = raw.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("malformed_json", "The webhook body is not valid JSON");
  }
  const unstorable = mayHoldUnstorable(text);
  if (unstorable) body = storable(body);
  const event = (body as { event?: unknown } | null)?.event;
  // Known events parse once, envelope included; anything else only needs a sound envelope.
  const hook = typeof event === "string" && isKnownWebhookEvent(event) ? smsGateWebhookSchema.parse(body) : null;
  const envelope = hook ?? webhookEnvelopeSchema.parse(body);
  if (envelope.id.length > MAX_ENVELOPE_ID_LENGTH) {
    throw new AppError("validation_failed", "The webhook envelope id is too long", {
      errors: [{ path: "id", detail: `must be at most ${MAX_ENVELOPE_ID_LENGTH} characters` }],
    });
  }
  const payloadMessageId = typeof envelope.payload.messageId === "string" ? envelope.payload.messageId : null;
  return {
    envelopeId: envelope.id,
    event: envelope.event,
    deviceId: envelope.deviceId || null,
    // A received SMS's messageId is derived from its content: not one of ours, not a key.
    messageId: envelope.event === "sms:received" ? null : payloadMessageId,
    // The bytes as received (valid JSON, just parsed), so the record is the phone's own;
    // re-serialised only when a string had to be cleaned for Postgres.
    json: unstorable ? JSON.stringify(body) : text,
    action: hook ? actionOf(hook, defaultRegion) : { kind: "none" },
    accountId: null,
  };
}

function actionOf(hook: SmsGateWebhook, region: string): WebhookAction {
  switch (hook.event) {
    case "sms:sent":
    case "sms:delivered":
    case "sms:failed":
    case "sms:cancelled": {
      // Not a uuid: an SMS sent from the phone outside Inboxerr. Stored, never matched.
      if (!UUID.test(hook.payload.messageId)) return { kind: "none" };
      const messageId = hook.payload.messageId.toLowerCase();
      const report: StatusReport =
        hook.event === "sms:sent"
          ? { kind: "sent", at: utc(hook.payload.sentAt), partsCount: hook.payload.partsCount ?? undefined }
          : hook.event === "sms:delivered"
            ? { kind: "delivered", at: utc(hook.payload.deliveredAt) }
            : hook.event === "sms:cancelled"
              ? { kind: "cancelled", at: utc(hook.payload.cancelledAt) }
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
      // Names its device only: without one there is nothing to mark seen.
      return hook.deviceId ? { kind: "ping" } : { kind: "none" };
  }
}

// Phone times outside these years are a broken clock or a crafted value (year 0 and year
// 200,000 parse in JavaScript; Postgres refuses both): treated as absent, so server time
// stands in and the report still applies, instead of a 400 the phone would retry for days.
const EARLIEST_PHONE_TIME = Date.UTC(2000, 0, 1);
const LATEST_PHONE_TIME = Date.UTC(2100, 0, 1);

/** The phone's local time with its offset, as an instant (Dates are UTC inside); undefined when implausible. */
function utc(value: string): Date | undefined {
  const ms = Date.parse(value);
  return ms >= EARLIEST_PHONE_TIME && ms < LATEST_PHONE_TIME ? new Date(ms) : undefined;
}
