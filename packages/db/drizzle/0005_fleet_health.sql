CREATE TABLE "sender_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sender_id" uuid NOT NULL,
	"owner_user_id" uuid,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sender_events_type_check" CHECK ("sender_events"."type" in ('sender.offline', 'sender.online', 'sender.paused'))
);
--> statement-breakpoint
ALTER TABLE "message_attempts" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "senders" ADD COLUMN "status_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sender_events" ADD CONSTRAINT "sender_events_sender_id_senders_id_fk" FOREIGN KEY ("sender_id") REFERENCES "public"."senders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sender_events_sender_id_occurred_at_idx" ON "sender_events" USING btree ("sender_id","occurred_at");--> statement-breakpoint
CREATE INDEX "sender_events_created_at_idx" ON "sender_events" USING btree ("created_at") WHERE "sender_events"."published_at" is null;--> statement-breakpoint
CREATE INDEX "message_attempts_accepted_idx" ON "message_attempts" USING btree ("accepted_at") WHERE "message_attempts"."status" = 'accepted';