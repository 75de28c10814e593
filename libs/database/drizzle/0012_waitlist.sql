-- The waitlist of sold-out events: one place per user and event, in order of `id`. Who may join and
-- who is given a freed seat is decided by the booking service under the event's row lock (the lock the
-- seat-counter trigger takes), so a join, a leave and a seat freed by a cancellation or a raised
-- capacity are serialised per event; see docs/architecture.md, "Waitlist".
CREATE TABLE "waitlist" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" integer NOT NULL,
	"user_id" varchar(255) NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "waitlist_event_id_user_id_unique" UNIQUE("event_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "waitlist" ADD CONSTRAINT "waitlist_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "waitlist_event_id_id_idx" ON "waitlist" USING btree ("event_id","id");