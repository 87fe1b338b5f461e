import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, smallint, text, unique, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";
import { createdAt, sqlList, timestamps, tstz, uuidPk } from "./util";

// The fleet (DESIGN-2.md "Fleet", ADR 0017): accounts hold phones, a sender is one SIM of one
// phone, and every hand-over of a message to the gateway is an attempt with its own id.

const GATEWAY_ACCOUNT_KINDS = ["smsgate"] as const;
export const GATEWAY_ACCOUNT_STATUSES = ["active", "disabled"] as const;
export const SENDER_STATUSES = ["active", "paused", "offline", "retired"] as const;
export const ATTEMPT_STATUSES = ["sending", "accepted", "sent", "delivered", "failed", "cancelled"] as const;
/** Attempt statuses after which no new attempt may follow while the row stays one: its live ones. */
export const LIVE_ATTEMPT_STATUSES = ["sending", "accepted", "sent"] as const satisfies readonly AttemptStatus[];
/** Why a queued message has no attempt yet (DESIGN-2.md "Routing", "Health, failover"). */
export const WAITING_REASONS = [
  "no_active_sender",
  "rate_limited",
  "daily_cap",
  "monthly_cap",
  "sender_offline",
  "outside_send_window",
  "paused",
  "failover_unconfirmed",
] as const;

export type GatewayAccountStatus = (typeof GATEWAY_ACCOUNT_STATUSES)[number];
export type SenderStatus = (typeof SENDER_STATUSES)[number];
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];
export type WaitingReason = (typeof WAITING_REASONS)[number];

/** The shared account built from the env's SMSGATE_* settings at boot (ensureDefaultAccount). */
export const DEFAULT_ACCOUNT_NAME = "default";

export const gatewayAccounts = pgTable(
  "gateway_accounts",
  {
    ...uuidPk(),
    // NULL: shared, the operator's (admins manage it; every user may route through it).
    ownerUserId: uuid("owner_user_id").references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: GATEWAY_ACCOUNT_KINDS }).notNull().default("smsgate"),
    baseUrl: text("base_url").notNull(),
    username: text("username").notNull(),
    // Sealed with SECRETS_KEY (src/secrets.ts). NULL on the env's `default` account, whose
    // secrets stay in the environment (ADR 0017), and on an account given none yet.
    password: text("password"),
    webhookSigningKey: text("webhook_signing_key"),
    status: text("status", { enum: GATEWAY_ACCOUNT_STATUSES }).notNull().default("active"),
    ...timestamps(),
  },
  (t) => [
    check("gateway_accounts_kind_check", sql`${t.kind} in ${sqlList(GATEWAY_ACCOUNT_KINDS)}`),
    check("gateway_accounts_status_check", sql`${t.status} in ${sqlList(GATEWAY_ACCOUNT_STATUSES)}`),
    // Names are unique per owner, and among shared accounts (NULL owner) too: the boot upsert of
    // `default` races on this constraint.
    unique("gateway_accounts_owner_user_id_name_key").on(t.ownerUserId, t.name).nullsNotDistinct(),
  ],
);

export const senders = pgTable(
  "senders",
  {
    ...uuidPk(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => gatewayAccounts.id, { onDelete: "cascade" }),
    deviceId: text("device_id").notNull(),
    // SIM slot 1..3; NULL = the device's default SIM.
    simNumber: smallint("sim_number"),
    phoneNumber: text("phone_number"), // E.164 when the gateway knows it
    carrier: text("carrier"),
    label: text("label"),
    status: text("status", { enum: SENDER_STATUSES }).notNull().default("active"),
    pausedReason: text("paused_reason"),
    // When it was last paused or resumed (an admin, or automatic pause; ADR 0022), not on an
    // offline/online flap: automatic pause counts only attempts made since, so a resumed sender
    // is not paused again for the failures before, and a flapping one still is.
    statusChangedAt: tstz("status_changed_at"),
    // NULL = no limit of that kind.
    ratePerMinute: integer("rate_per_minute"),
    dailyCap: integer("daily_cap"),
    monthlyUniqueCap: integer("monthly_unique_cap"),
    lastSeenAt: tstz("last_seen_at"),
    health: jsonb("health"), // the device's last system:ping payload
    ...timestamps(),
  },
  (t) => [
    check("senders_status_check", sql`${t.status} in ${sqlList(SENDER_STATUSES)}`),
    check("senders_sim_number_check", sql`${t.simNumber} between 1 and 3`),
    check("senders_limits_check", sql`${t.ratePerMinute} > 0 and ${t.dailyCap} >= 0 and ${t.monthlyUniqueCap} >= 0`),
    // One sender per SIM: sync upserts on it. NULLS NOT DISTINCT so a device's default SIM
    // (sim_number NULL) is one row too, not a new one per sync.
    unique("senders_account_id_device_id_sim_number_key").on(t.accountId, t.deviceId, t.simNumber).nullsNotDistinct(),
  ],
);

/** What the health pass and the admin API tell the world about a sender (ADR 0022). */
export const SENDER_EVENT_TYPES = ["sender.offline", "sender.online", "sender.paused"] as const;
export type SenderEventType = (typeof SENDER_EVENT_TYPES)[number];

/**
 * The fleet's outbox (ADR 0022): one row per sender status change, written in the same
 * statement as the change. Customers' webhooks (issue 17) fan these out; until then they wait
 * here unpublished, and GET /senders/:id/events lists them.
 */
export const senderEvents = pgTable(
  "sender_events",
  {
    ...uuidPk(),
    senderId: uuid("sender_id")
      .notNull()
      .references(() => senders.id, { onDelete: "cascade" }),
    // Copied from the sender's account, so fan-out needs no join: NULL = a shared sender (admins').
    ownerUserId: uuid("owner_user_id"),
    type: text("type", { enum: SENDER_EVENT_TYPES }).notNull(),
    // The sender as GET /senders/:id shows it, at the change.
    payload: jsonb("payload").notNull(),
    occurredAt: tstz("occurred_at").notNull().defaultNow(),
    publishedAt: tstz("published_at"),
    ...createdAt(),
  },
  (t) => [
    check("sender_events_type_check", sql`${t.type} in ${sqlList(SENDER_EVENT_TYPES)}`),
    index("sender_events_sender_id_occurred_at_idx").on(t.senderId, t.occurredAt),
    index("sender_events_created_at_idx")
      .on(t.createdAt)
      .where(sql`${t.publishedAt} is null`),
  ],
);

export type GatewayAccount = typeof gatewayAccounts.$inferSelect;
export type NewGatewayAccount = typeof gatewayAccounts.$inferInsert;
export type Sender = typeof senders.$inferSelect;
export type NewSender = typeof senders.$inferInsert;
export type SenderEvent = typeof senderEvents.$inferSelect;
