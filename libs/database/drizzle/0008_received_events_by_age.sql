-- The notification service's retention deletes received events oldest first, batch by batch: each
-- batch finds its rows through this index instead of reading the whole table.
CREATE INDEX "received_events_received_at_idx" ON "notifications"."received_events" USING btree ("received_at");
