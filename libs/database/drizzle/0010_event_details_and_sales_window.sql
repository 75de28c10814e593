ALTER TABLE "events" ADD COLUMN "starts_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "venue" varchar(255);--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "description" varchar(5000);--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "sales_open_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "sales_close_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_sales_window_ordered" CHECK ("events"."sales_open_at" <= "events"."sales_close_at");--> statement-breakpoint
-- Whether an event is on sale at time `at`: 'closed' from the earlier of sales_close_at and starts_at on
-- (sales never go on once the event has started), else 'not_open' before sales_open_at, else 'open'.
-- Unset times bound nothing: an event with none is on sale. The one definition in SQL of the rule that
-- `salesStateAt` (apps/booking-service, reservation-rules.ts) states in code.
CREATE FUNCTION event_sales_state(sales_open_at timestamptz, sales_close_at timestamptz, starts_at timestamptz, at timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN at >= LEAST(sales_close_at, starts_at) THEN 'closed'
    WHEN at < sales_open_at THEN 'not_open'
    ELSE 'open'
  END
$$;
--> statement-breakpoint
-- The seat counter of 0004, which now also refuses a booking outside its event's sales window: like the
-- capacity CHECK, a rule of the database itself, whoever inserts. It is checked on the event's row as
-- updated under its lock (the latest version, at the inserting transaction's time), so a window changed
-- by an organiser after a statement's snapshot still refuses it: SQLSTATE BK002, and the statement is
-- rolled back whole. (An insert that also overfills the event fails the capacity CHECK first.) Bookings
-- moved to another event by an UPDATE are an operator's doing and are not checked.
CREATE OR REPLACE FUNCTION bookings_count_booked_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  refused integer;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM events WHERE id IN (SELECT event_id FROM new_bookings) ORDER BY id FOR NO KEY UPDATE;
    WITH counted AS (
      UPDATE events e SET booked_seats = e.booked_seats + c.seats, updated_at = now()
      FROM (SELECT event_id, count(*)::int AS seats FROM new_bookings GROUP BY event_id) c
      WHERE e.id = c.event_id
      RETURNING e.id, event_sales_state(e.sales_open_at, e.sales_close_at, e.starts_at, now()) AS sales
    )
    SELECT min(id) INTO refused FROM counted WHERE sales <> 'open';
    IF refused IS NOT NULL THEN
      RAISE EXCEPTION 'event % is not on sale: nothing was booked', refused USING ERRCODE = 'BK002';
    END IF;
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
