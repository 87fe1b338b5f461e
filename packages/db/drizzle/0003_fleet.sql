CREATE TABLE "gateway_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_user_id" uuid,
	"name" text NOT NULL,
	"kind" text DEFAULT 'smsgate' NOT NULL,
	"base_url" text NOT NULL,
	"username" text NOT NULL,
	"password" text,
	"webhook_signing_key" text,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "gateway_accounts_owner_user_id_name_key" UNIQUE NULLS NOT DISTINCT("owner_user_id","name"),
	CONSTRAINT "gateway_accounts_kind_check" CHECK ("gateway_accounts"."kind" in ('smsgate')),
	CONSTRAINT "gateway_accounts_status_check" CHECK ("gateway_accounts"."status" in ('active', 'disabled'))
);
--> statement-breakpoint
CREATE TABLE "message_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"message_id" uuid NOT NULL,
	"sender_id" uuid,
	"n" smallint NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"accepted_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	CONSTRAINT "message_attempts_message_id_n_key" UNIQUE("message_id","n"),
	CONSTRAINT "message_attempts_status_check" CHECK ("message_attempts"."status" in ('sending', 'accepted', 'sent', 'delivered', 'failed', 'cancelled')),
	CONSTRAINT "message_attempts_n_check" CHECK ("message_attempts"."n" >= 1)
);
--> statement-breakpoint
CREATE TABLE "senders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"sim_number" smallint,
	"phone_number" text,
	"carrier" text,
	"label" text,
	"status" text DEFAULT 'active' NOT NULL,
	"paused_reason" text,
	"rate_per_minute" integer,
	"daily_cap" integer,
	"monthly_unique_cap" integer,
	"last_seen_at" timestamp with time zone,
	"health" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "senders_account_id_device_id_sim_number_key" UNIQUE NULLS NOT DISTINCT("account_id","device_id","sim_number"),
	CONSTRAINT "senders_status_check" CHECK ("senders"."status" in ('active', 'paused', 'offline', 'retired')),
	CONSTRAINT "senders_sim_number_check" CHECK ("senders"."sim_number" between 1 and 3),
	CONSTRAINT "senders_limits_check" CHECK ("senders"."rate_per_minute" > 0 and "senders"."daily_cap" >= 0 and "senders"."monthly_unique_cap" >= 0)
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "sender_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "pinned_sender_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "waiting_reason" text;--> statement-breakpoint
ALTER TABLE "gateway_accounts" ADD CONSTRAINT "gateway_accounts_owner_user_id_users_id_fk" FOREIGN KEY ("owner_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_attempts" ADD CONSTRAINT "message_attempts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_attempts" ADD CONSTRAINT "message_attempts_sender_id_senders_id_fk" FOREIGN KEY ("sender_id") REFERENCES "public"."senders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "senders" ADD CONSTRAINT "senders_account_id_gateway_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."gateway_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "message_attempts_live_idx" ON "message_attempts" USING btree ("message_id") WHERE "message_attempts"."status" in ('sending', 'accepted', 'sent');--> statement-breakpoint
CREATE INDEX "message_attempts_sender_id_created_at_idx" ON "message_attempts" USING btree ("sender_id","created_at");--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_sender_id_senders_id_fk" FOREIGN KEY ("sender_id") REFERENCES "public"."senders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_pinned_sender_id_senders_id_fk" FOREIGN KEY ("pinned_sender_id") REFERENCES "public"."senders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_sender_id_idx" ON "messages" USING btree ("sender_id") WHERE "messages"."sender_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_pinned_sender_id_status_idx" ON "messages" USING btree ("pinned_sender_id","status") WHERE "messages"."pinned_sender_id" is not null;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_waiting_reason_check" CHECK ("messages"."waiting_reason" in ('no_active_sender', 'rate_limited', 'daily_cap', 'monthly_cap', 'sender_offline', 'outside_send_window', 'paused', 'failover_unconfirmed'));--> statement-breakpoint
-- Part-1 messages that may have reached the gateway get their one attempt, whose id is the
-- message id (the id the gateway knows). Its sender is NULL: part 1 sent through the env's
-- account, which becomes a row only at boot (ADR 0017). A message still `queued`/`sending`
-- with a counted claim keeps a live `sending` attempt, so its retry reuses the same id.
INSERT INTO "message_attempts" ("id", "message_id", "sender_id", "n", "status", "error", "created_at", "updated_at", "accepted_at", "sent_at", "delivered_at", "failed_at", "cancelled_at")
SELECT m."id", m."id", NULL, 1,
	CASE m."status"
		WHEN 'accepted' THEN 'accepted'
		WHEN 'sent' THEN 'sent'
		WHEN 'delivered' THEN 'delivered'
		WHEN 'failed' THEN 'failed'
		WHEN 'expired' THEN 'failed'
		WHEN 'cancelled' THEN 'cancelled'
		ELSE 'sending'
	END,
	CASE WHEN m."status" = 'expired' THEN coalesce(m."error", 'expired') WHEN m."status" = 'failed' THEN m."error" END,
	coalesce(m."sending_at", m."queued_at", m."created_at"), m."updated_at",
	m."accepted_at", m."sent_at", m."delivered_at", coalesce(m."failed_at", m."expired_at"), m."cancelled_at"
FROM "messages" m
WHERE m."attempts" > 0
	OR m."status" IN ('sending', 'accepted', 'sent', 'delivered')
	OR coalesce(m."accepted_at", m."sent_at", m."delivered_at") IS NOT NULL;
