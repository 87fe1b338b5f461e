/**
 * The transport-neutral contract between Inboxerr and an SMS gateway. The sender-worker
 * only sees these types, so a second gateway is a new driver, not a new worker.
 */

import type { GatewayDevice } from "./devices";

/** One SMS to one recipient; `id` is our message uuid and doubles as the gateway's id. */
export type OutboundSms = {
  id: string;
  /** E.164, e.g. "+14155550100". */
  to: string;
  text: string;
  /** -128..127; ≥ 100 makes SMS Gate skip the phone's own send limits. */
  priority?: number;
  validUntil?: Date | null;
  /** The SIM to send from (1..3), e.g. a sender's; overrides the driver's default. */
  simNumber?: number;
  /** The device to send from, e.g. a sender's; overrides the driver's default. SMS Gate keeps ids unique per device. */
  deviceId?: string;
};

/**
 * What became of one send attempt.
 * - accepted: the gateway owns the message now (202), or already owned it (409 same id,
 *   `duplicate: true`; the 409 body carries no state, so `state` is null then).
 * - throttled: the gateway asked us to slow down (429, 503 QueueLimitExceeded); retry later
 *   without spending an attempt. `retryAfterMs` comes from `Retry-After` when present.
 * - permanent: the gateway refused this message and would refuse it again (other 4xx).
 * - transient: we do not know whether it arrived (5xx, network error, timeout); retry.
 * `status` is the HTTP status, or null when no response arrived.
 */
export type SendResult =
  | { kind: "accepted"; state: string | null; duplicate: boolean; status: number }
  | { kind: "throttled"; retryAfterMs: number | null; reason: string; status: number }
  | { kind: "permanent"; reason: string; status: number }
  | { kind: "transient"; reason: string; status: number | null };

/**
 * What a cancel (`DELETE /messages/{id}`, ADR 0022) proved.
 * - cancelled: the gateway says the message is `Cancelled`: it will never be sent.
 * - not_cancelled: the gateway answered about the message, but not `Cancelled` (it left
 *   Pending: 409; it is unknown: 404; or the phone has yet to confirm: `Cancelling`). `state`
 *   when it said one.
 * - unknown: nothing about the message was proved: no answer (network error, timeout), 5xx, or
 *   any other refusal (401/403 credentials, 429 throttling, a wrong URL).
 * Only `cancelled` lets a new attempt go out; the other two resend nothing.
 */
export type CancelResult =
  | { kind: "cancelled"; status: number }
  | { kind: "not_cancelled"; state: string | null; reason: string; status: number }
  | { kind: "unknown"; reason: string; status: number | null };

/**
 * What the gateway holds for a message (`GET /messages/{id}`), e.g. to learn whether a cancel
 * whose answer was lost took effect. `state` is SMS Gate's (`Pending`, `Processed`, `Sent`,
 * `Cancelled`, …); not_found is a 404; unknown is anything else (no answer, 5xx, a refusal).
 */
export type MessageStateResult =
  | { kind: "state"; state: string }
  | { kind: "not_found" }
  | { kind: "unknown"; reason: string; status: number | null };

export type WebhookRegistration = {
  /** Reusing an id replaces that registration, which makes boot-time registration idempotent. */
  id?: string;
  url: string;
  event: string;
  deviceId?: string;
};

export type RegisteredWebhook = {
  id: string;
  url: string;
  event: string;
  deviceId: string | null;
};

export interface GatewayDriver {
  /** Never throws for gateway answers or network failures: they are SendResults. */
  send(msg: OutboundSms): Promise<SendResult>;
  /** Asks the gateway to cancel a message it holds (by the id we sent it with). Never throws. */
  cancel(id: string): Promise<CancelResult>;
  /** The message's state at the gateway (by the id we sent it with). Never throws. */
  messageState(id: string): Promise<MessageStateResult>;
  /** Throws GatewayRequestError when the gateway does not answer 2xx. */
  registerWebhook(webhook: WebhookRegistration): Promise<RegisteredWebhook>;
  listWebhooks(): Promise<RegisteredWebhook[]>;
  deleteWebhook(id: string): Promise<void>;
  /** The account's phones and their SIMs (`GET /devices`). Throws GatewayRequestError. */
  listDevices(): Promise<GatewayDevice[]>;
}

/** A management call (webhooks) that the gateway refused or that never got an answer. */
export class GatewayRequestError extends Error {
  override name = "GatewayRequestError";
  constructor(
    message: string,
    /** HTTP status, or null for network errors and timeouts. */
    readonly status: number | null,
  ) {
    super(message);
  }
}
