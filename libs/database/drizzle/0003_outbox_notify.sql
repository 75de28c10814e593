-- Wakes the outbox relays as soon as a transaction that wrote outbox rows
-- commits (NOTIFY is delivered at commit, never for a rolled-back change), so
-- publishing does not wait for a polling interval. One notification per
-- statement; PostgreSQL folds identical ones within a transaction.
CREATE FUNCTION outbox_notify_relay() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_pending', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER outbox_notify_relay
AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_relay();
