CREATE SCHEMA "notifications";
--> statement-breakpoint
CREATE TABLE "notifications"."deliveries" (
	"event_id" uuid NOT NULL,
	"channel" varchar(32) NOT NULL,
	"status" varchar(16) NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deliveries_event_id_channel_pk" PRIMARY KEY("event_id","channel"),
	CONSTRAINT "deliveries_status_known" CHECK ("notifications"."deliveries"."status" IN ('pending', 'delivered', 'dead_letter'))
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"position" bigserial NOT NULL,
	"type" varchar(64) NOT NULL,
	"booking_id" integer,
	"event_id" integer NOT NULL,
	"correlation_id" varchar(255) NOT NULL,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "outbox_position_unique" UNIQUE("position")
);
--> statement-breakpoint
CREATE TABLE "notifications"."received_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"type" varchar(64) NOT NULL,
	"correlation_id" varchar(255) NOT NULL,
	"envelope" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notifications"."deliveries" ADD CONSTRAINT "deliveries_event_id_received_events_event_id_fk" FOREIGN KEY ("event_id") REFERENCES "notifications"."received_events"("event_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_unpublished_idx" ON "outbox" USING btree ("position") WHERE "outbox"."published_at" IS NULL;--> statement-breakpoint
CREATE INDEX "outbox_booking_id_idx" ON "outbox" USING btree ("booking_id");--> statement-breakpoint
CREATE INDEX "outbox_occurred_at_idx" ON "outbox" USING btree ("occurred_at");