-- Leaner outbox writes: no index on occurred_at (nothing queries by it), and the booking_id index
-- holds only events of a booking (the history view looks them up), not refusals, which are most
-- of the rows in a flash sale. Each outbox row is written twice (insert, then the relay's stamp),
-- so every index costs two entries a row.
DROP INDEX "outbox_occurred_at_idx";--> statement-breakpoint
DROP INDEX "outbox_booking_id_idx";--> statement-breakpoint
CREATE INDEX "outbox_booking_id_idx" ON "outbox" USING btree ("booking_id") WHERE "outbox"."booking_id" IS NOT NULL;