-- The seat counter, kept per statement instead of per row. The row trigger of
-- 0001 ran a plpgsql call and an events-row update for every booking: a batch
-- that books 100 seats of one event wrote 100 versions of that event's row.
-- These triggers read the statement's transition tables and update each event
-- once, by the statement's net change. The invariant is the same: the update
-- runs inside the inserting statement, so an insert past capacity still fails
-- the CHECK events_booked_seats_within_capacity and rolls back with it.
-- The events are locked in id order first, with the lock the update itself
-- takes (FOR NO KEY UPDATE, which the foreign-key checks' FOR KEY SHARE does
-- not block), so statements touching the same events cannot deadlock.
-- (Transition tables cannot be combined with a column list, so the update
-- trigger fires on every UPDATE of bookings; one that keeps event_id nets zero.)
DROP TRIGGER bookings_maintain_booked_seats ON bookings;
--> statement-breakpoint
DROP FUNCTION bookings_maintain_booked_seats();
--> statement-breakpoint
CREATE FUNCTION bookings_count_booked_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM events WHERE id IN (SELECT event_id FROM new_bookings) ORDER BY id FOR NO KEY UPDATE;
    UPDATE events e SET booked_seats = e.booked_seats + c.seats, updated_at = now()
    FROM (SELECT event_id, count(*)::int AS seats FROM new_bookings GROUP BY event_id) c
    WHERE e.id = c.event_id;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM 1 FROM events WHERE id IN (SELECT event_id FROM old_bookings) ORDER BY id FOR NO KEY UPDATE;
    UPDATE events e SET booked_seats = e.booked_seats - c.seats, updated_at = now()
    FROM (SELECT event_id, count(*)::int AS seats FROM old_bookings GROUP BY event_id) c
    WHERE e.id = c.event_id;
  ELSE
    PERFORM 1 FROM events
    WHERE id IN (SELECT event_id FROM new_bookings UNION SELECT event_id FROM old_bookings)
    ORDER BY id FOR NO KEY UPDATE;
    UPDATE events e SET booked_seats = e.booked_seats + c.seats, updated_at = now()
    FROM (
      SELECT event_id, sum(seats)::int AS seats FROM (
        SELECT event_id, 1 AS seats FROM new_bookings
        UNION ALL
        SELECT event_id, -1 FROM old_bookings
      ) moved GROUP BY event_id
    ) c
    WHERE e.id = c.event_id AND c.seats <> 0;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER bookings_count_inserted_seats
AFTER INSERT ON bookings REFERENCING NEW TABLE AS new_bookings
FOR EACH STATEMENT EXECUTE FUNCTION bookings_count_booked_seats();
--> statement-breakpoint
CREATE TRIGGER bookings_count_deleted_seats
AFTER DELETE ON bookings REFERENCING OLD TABLE AS old_bookings
FOR EACH STATEMENT EXECUTE FUNCTION bookings_count_booked_seats();
--> statement-breakpoint
CREATE TRIGGER bookings_count_moved_seats
AFTER UPDATE ON bookings REFERENCING OLD TABLE AS old_bookings NEW TABLE AS new_bookings
FOR EACH STATEMENT EXECUTE FUNCTION bookings_count_booked_seats();
