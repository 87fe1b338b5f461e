import type { CustomerVisibleStatus } from "@inboxerr/contracts";
import type { MessageStatus } from "@inboxerr/db";

/** Every event type a customer's endpoint can receive (DESIGN-2.md "Customers' webhooks"). */
export const WEBHOOK_EVENT_TYPES = [
  "message.accepted",
  "message.sent",
  "message.delivered",
  "message.failed",
  "message.expired",
  "message.cancelled",
  "batch.completed",
  "campaign.completed",
  "inbound.received",
  "opt_out.created",
  "sender.offline",
  "sender.online",
  "sender.paused",
  "webhook.test",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Exactly the statuses the outbox puts on webhook-events (CUSTOMER_VISIBLE_STATUSES): a key
 * missing here, or one not there, is a type error, and events.test.ts checks the lists agree.
 */
const MESSAGE_EVENT_TYPES: Record<CustomerVisibleStatus, WebhookEventType> = {
  accepted: "message.accepted",
  sent: "message.sent",
  delivered: "message.delivered",
  failed: "message.failed",
  expired: "message.expired",
  cancelled: "message.cancelled",
};

/** The webhook type of a message's move, or null for moves customers are not told of (queued, sending...). */
export function messageEventType(status: MessageStatus): WebhookEventType | null {
  return (MESSAGE_EVENT_TYPES as Partial<Record<MessageStatus, WebhookEventType>>)[status] ?? null;
}

/**
 * One event to fan out to the endpoints of its owner (ADR 0023). `id` is the source row's id
 * (message_events, sender_events, inbound_messages; the batch id for batch.completed), so the
 * same event always makes the same delivery per endpoint.
 */
export type WebhookEvent = {
  id: string;
  type: WebhookEventType;
  /** The owner whose endpoints get it; null = every admin's (a shared sender's events). */
  userId: string | null;
  occurredAt: Date;
  /** The resource as the API shows it. */
  data: unknown;
};

/** The body every attempt of a delivery sends, byte for byte (Standard Webhooks' shape). */
export function webhookBody(event: Pick<WebhookEvent, "type" | "occurredAt" | "data">): { type: WebhookEventType; timestamp: string; data: unknown } {
  return { type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data };
}

/** An endpoint's `events` filter: empty = every type. */
export function endpointWants(events: readonly string[], type: WebhookEventType): boolean {
  return events.length === 0 || events.includes(type);
}
