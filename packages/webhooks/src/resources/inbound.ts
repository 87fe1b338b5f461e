import type { InboundMessage } from "@inboxerr/db";

/** The fields of an inbound SMS that clients see. */
export type InboundFields = Pick<InboundMessage, "id" | "fromNumber" | "text" | "deviceId" | "userId" | "receivedAt" | "createdAt">;

/**
 * An inbound SMS as GET /inbound-messages lists it, and as `inbound.received` carries it
 * (ADR 0023): one serializer, so the webhook's `data` never drifts from the API's.
 */
export function toInboundJson(m: InboundFields) {
  return {
    id: m.id,
    from: m.fromNumber,
    text: m.text,
    deviceId: m.deviceId,
    userId: m.userId,
    receivedAt: m.receivedAt.toISOString(),
    createdAt: m.createdAt.toISOString(),
  };
}
