import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, smallint, text, unique, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";
import { createdAt, sqlList, timestamps, tstz, uuidPk } from "./util";

// Customers' webhooks (issue 17, ADR 0023): the endpoints a user registers, one delivery per
// (endpoint, event), and every HTTP attempt of a delivery.

export const WEBHOOK_ENDPOINT_STATUSES = ["active", "disabled"] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

/**
 * pending: due at next_attempt_at (new, retried by hand, replayed); failed: the last attempt
 * failed and another is scheduled at next_attempt_at; succeeded: a 2xx answer; exhausted: the
 * schedule ran out (or the endpoint is gone for good), nothing more is tried unless a person asks.
 */
export const WEBHOOK_DELIVERY_STATUSES = ["pending", "failed", "succeeded", "exhausted"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    ...uuidPk(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    // Event types delivered; empty = every type.
    events: text("events").array().notNull().default(sql`'{}'::text[]`),
    // `whsec_<base64>`, sealed with SECRETS_KEY (secrets.ts, column "webhook_endpoints.secret").
    secret: text("secret").notNull(),
    // The secret before the last rotation, sealed likewise; deliveries carry both signatures
    // until previous_secret_expires_at (24 h after the rotation).
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: tstz("previous_secret_expires_at"),
    status: text("status", { enum: WEBHOOK_ENDPOINT_STATUSES }).notNull().default("active"),
    disabledReason: text("disabled_reason"),
    disabledAt: tstz("disabled_at"),
    // The first failed attempt since the last success (NULL while it succeeds): an endpoint
    // failing without a success for WEBHOOK_DISABLE_AFTER_DAYS is disabled.
    failingSince: tstz("failing_since"),
    lastSuccessAt: tstz("last_success_at"),
    ...timestamps(),
  },
  (t) => [
    check("webhook_endpoints_status_check", sql`${t.status} in ${sqlList(WEBHOOK_ENDPOINT_STATUSES)}`),
    index("webhook_endpoints_user_id_idx").on(t.userId),
  ],
);

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    // The `webhook-id` header: the same on every attempt, retry and replay of this delivery.
    ...uuidPk(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    // The endpoint's owner, copied: tenant filters need no join.
    userId: uuid("user_id").notNull(),
    // The source event's id: a message_events, sender_events or inbound_messages row, a batch
    // id for batch.completed, a fresh id for webhook.test. Not a foreign key (several tables).
    eventId: uuid("event_id").notNull(),
    type: text("type").notNull(),
    // The body sent, byte for byte on every attempt: {type, timestamp, data}.
    payload: jsonb("payload").notNull(),
    status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default("pending"),
    // Attempts ever made (webhook_delivery_attempts.n counts on from it across replays).
    attempts: integer("attempts").notNull().default(0),
    // Attempts made since the delivery was last set going (fan-out, retry, replay): its place
    // in WEBHOOK_RETRY_SCHEDULE, so a replayed exhausted delivery gets the schedule again.
    scheduleStep: integer("schedule_step").notNull().default(0),
    nextAttemptAt: tstz("next_attempt_at").defaultNow(),
    // A dispatcher holds it until then (it is being delivered); a crashed holder's lease lapses.
    leasedUntil: tstz("leased_until"),
    // Retried or replayed while an attempt was in flight: that attempt's outcome makes it due
    // again at once (a second attempt alongside the first would send the id twice at once).
    redeliver: boolean("redeliver").notNull().default(false),
    lastStatus: smallint("last_status"),
    lastError: text("last_error"),
    // The first 1 KB of the last answer's body.
    lastResponse: text("last_response"),
    deliveredAt: tstz("delivered_at"),
    ...timestamps(),
  },
  (t) => [
    check("webhook_deliveries_status_check", sql`${t.status} in ${sqlList(WEBHOOK_DELIVERY_STATUSES)}`),
    // Fan-out is idempotent: an event redelivered to the dispatcher makes no second delivery.
    unique("webhook_deliveries_endpoint_id_event_id_key").on(t.endpointId, t.eventId),
    index("webhook_deliveries_endpoint_id_created_at_idx").on(t.endpointId, t.createdAt.desc()),
    // GET /webhook-endpoints/:id/deliveries?status=…, newest first.
    index("webhook_deliveries_endpoint_id_status_created_at_idx").on(t.endpointId, t.status, t.createdAt.desc()),
    // The claim, endpoint by endpoint: only deliveries still to be tried, so a disabled or capped
    // endpoint's backlog is never read.
    index("webhook_deliveries_endpoint_due_idx")
      .on(t.endpointId, t.nextAttemptAt)
      .where(sql`${t.status} in ('pending', 'failed')`),
    // The due loop's idle probe: whether anything is due at all, whatever the number of active
    // endpoints, and without reading a backlog of retries due later.
    index("webhook_deliveries_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`${t.status} in ('pending', 'failed')`),
  ],
);

/** One HTTP attempt of a delivery, as it went. */
export const webhookDeliveryAttempts = pgTable(
  "webhook_delivery_attempts",
  {
    ...uuidPk(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    // NULL when no answer came (timeout, refused, unsafe target).
    statusCode: smallint("status_code"),
    error: text("error"),
    // The first 1 KB of the answer's body.
    response: text("response"),
    durationMs: integer("duration_ms").notNull(),
    ...createdAt(),
  },
  (t) => [index("webhook_delivery_attempts_delivery_id_n_idx").on(t.deliveryId, t.n)],
);

/**
 * What a retry or a replay writes to a delivery: due now, from the start of the schedule
 * again. A lease still running on a delivery not yet done is left alone (its attempt is in
 * flight, and a second one beside it would send the id twice at once): the row is marked, and
 * that attempt's outcome makes it due again. A done delivery's lease is only a leftover.
 */
export function sendAgain() {
  const inFlight = sql`(${webhookDeliveries.status} in ('pending', 'failed') and coalesce(${webhookDeliveries.leasedUntil} > now(), false))`;
  return {
    status: "pending" as const,
    nextAttemptAt: sql`now()`,
    scheduleStep: 0,
    leasedUntil: sql`case when ${inFlight} then ${webhookDeliveries.leasedUntil} end`,
    redeliver: inFlight,
    updatedAt: new Date(),
  };
}

export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
export type NewWebhookEndpoint = typeof webhookEndpoints.$inferInsert;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type NewWebhookDelivery = typeof webhookDeliveries.$inferInsert;
export type WebhookDeliveryAttempt = typeof webhookDeliveryAttempts.$inferSelect;
