CREATE TABLE "metrics_failure_reasons" (
	"user_id" uuid NOT NULL,
	"sender_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "metrics_failure_reasons_pkey" PRIMARY KEY("user_id","bucket_start","sender_id","reason")
);
--> statement-breakpoint
CREATE TABLE "metrics_sender_buckets" (
	"user_id" uuid NOT NULL,
	"sender_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	"latency_ms_sum" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "metrics_sender_buckets_pkey" PRIMARY KEY("user_id","sender_id","bucket_start","status"),
	CONSTRAINT "metrics_sender_buckets_status_check" CHECK ("metrics_sender_buckets"."status" in ('scheduled', 'queued', 'sending', 'accepted', 'sent', 'delivered', 'failed', 'cancelled', 'expired'))
);
--> statement-breakpoint
ALTER TABLE "message_events" ADD COLUMN "sender_id" uuid;--> statement-breakpoint
ALTER TABLE "message_events" ADD COLUMN "error" text;--> statement-breakpoint
ALTER TABLE "metrics_failure_reasons" ADD CONSTRAINT "metrics_failure_reasons_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metrics_sender_buckets" ADD CONSTRAINT "metrics_sender_buckets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "metrics_failure_reasons_bucket_start_idx" ON "metrics_failure_reasons" USING btree ("bucket_start");--> statement-breakpoint
CREATE INDEX "metrics_sender_buckets_sender_id_bucket_start_idx" ON "metrics_sender_buckets" USING btree ("sender_id","bucket_start");