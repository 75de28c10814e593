-- The notification service keeps an event's envelope only while a channel that can dead-letter it (the
-- webhook) is configured: that is what re-driving a dead letter reads. With the log channel alone the
-- envelope was written with every event and never read.
ALTER TABLE "notifications"."received_events" ALTER COLUMN "envelope" DROP NOT NULL;
