-- events.booked_seats always equals the number of bookings of the event, whoever
-- writes the bookings table (the service, a script, an operator with psql).
-- Together with the CHECK events_booked_seats_within_capacity this makes
-- overselling impossible in the database itself: an insert past capacity fails
-- with a check violation and is rolled back with its statement.
CREATE FUNCTION bookings_maintain_booked_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE events SET booked_seats = booked_seats - 1, updated_at = now() WHERE id = OLD.event_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE events SET booked_seats = booked_seats + 1, updated_at = now() WHERE id = NEW.event_id;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER bookings_maintain_booked_seats
AFTER INSERT OR DELETE OR UPDATE OF event_id ON bookings
FOR EACH ROW EXECUTE FUNCTION bookings_maintain_booked_seats();
--> statement-breakpoint
CREATE FUNCTION bookings_reset_booked_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE events SET booked_seats = 0, updated_at = now() WHERE booked_seats <> 0;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER bookings_reset_booked_seats
AFTER TRUNCATE ON bookings
FOR EACH STATEMENT EXECUTE FUNCTION bookings_reset_booked_seats();
