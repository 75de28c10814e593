-- What is still to publish moves out of the outbox into a queue of its own.
-- The relay stamped `published_at` on every row it published: a second
-- version of the row and, since the stamp changed the partial index's
-- predicate, an entry in every outbox index again. Now a statement trigger
-- adds each inserted outbox row's position to `outbox_pending` (whoever
-- inserts it: this code, an older replica during an upgrade, an operator),
-- and the relay deletes a position once JetStream has acknowledged its event.
-- The same trigger wakes the relays (NOTIFY is delivered at commit, never for
-- a rolled-back change), replacing the trigger of 0003.
-- The lock first, for the whole migration: no row may be inserted between the
-- copy of the unpublished rows and the new trigger, and no older relay may
-- stamp one meanwhile.
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
--> statement-breakpoint
CREATE TABLE "outbox_pending" (
	"position" bigint PRIMARY KEY NOT NULL
);
--> statement-breakpoint
INSERT INTO outbox_pending (position) SELECT position FROM outbox WHERE published_at IS NULL;
--> statement-breakpoint
DROP TRIGGER outbox_notify_relay ON outbox;
--> statement-breakpoint
DROP FUNCTION outbox_notify_relay();
--> statement-breakpoint
CREATE FUNCTION outbox_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox_pending (position) SELECT position FROM new_outbox_rows;
  PERFORM pg_notify('outbox_pending', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER outbox_enqueue
AFTER INSERT ON outbox
REFERENCING NEW TABLE AS new_outbox_rows
FOR EACH STATEMENT EXECUTE FUNCTION outbox_enqueue();
--> statement-breakpoint
DROP INDEX "outbox_unpublished_idx";
--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "published_at";
