CREATE TABLE "metrics_reconcile_state" (
	"name" text PRIMARY KEY NOT NULL,
	"published_at" timestamp with time zone NOT NULL,
	"event_id" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "message_events_published_at_id_idx" ON "message_events" USING btree ("published_at","id") WHERE "message_events"."published_at" is not null;