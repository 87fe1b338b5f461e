import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";
import { createdAt, tstz, uuidPk } from "./util";

/** Every gateway webhook received, kept raw; the envelope id makes a redelivery a no-op. */
export const gatewayWebhookEvents = pgTable(
  "gateway_webhook_events",
  {
    ...uuidPk(),
    envelopeId: text("envelope_id").notNull(),
    event: text("event").notNull(),
    deviceId: text("device_id"),
    // Not a foreign key: SMS sent from the phone outside Inboxerr carry ids we never issued.
    messageId: text("message_id"),
    payload: jsonb("payload").notNull(),
    receivedAt: tstz("received_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("gateway_webhook_events_envelope_id_idx").on(t.envelopeId)],
);

export const inboundMessages = pgTable(
  "inbound_messages",
  {
    ...uuidPk(),
    // The owner attributed at ingest; NULL means "the admins" (nobody had messaged the number).
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    // E.164, or the raw sender when it does not parse (short codes, alphanumeric senders).
    fromNumber: text("from_number").notNull(),
    text: text("text").notNull(),
    deviceId: text("device_id"),
    envelopeId: text("envelope_id").notNull(),
    // The phone's clock, as reported; created_at is ours.
    receivedAt: tstz("received_at").notNull(),
    // When webhook-dispatcher fanned it out as `inbound.received` (ADR 0023): a sibling outbox.
    publishedAt: tstz("published_at"),
    ...createdAt(),
  },
  (t) => [
    uniqueIndex("inbound_messages_envelope_id_idx").on(t.envelopeId),
    index("inbound_messages_user_id_received_at_idx").on(t.userId, t.receivedAt.desc().nullsFirst()),
    index("inbound_messages_unpublished_idx")
      .on(t.createdAt)
      .where(sql`${t.publishedAt} is null`),
  ],
);

export type GatewayWebhookEvent = typeof gatewayWebhookEvents.$inferSelect;
export type NewGatewayWebhookEvent = typeof gatewayWebhookEvents.$inferInsert;
export type InboundMessage = typeof inboundMessages.$inferSelect;
export type NewInboundMessage = typeof inboundMessages.$inferInsert;
