// After every scenario: the database must show no oversold event, no user with
// two bookings for one event, and a seat counter equal to the bookings.
export async function checkInvariants(pool) {
  const { rows } = await pool.query(`
    SELECT
      (SELECT count(*) FROM (SELECT e.id FROM events e JOIN bookings b ON b.event_id = e.id
                             GROUP BY e.id, e.total_seats HAVING count(*) > e.total_seats) oversold)::int AS oversold_events,
      (SELECT count(*) FROM (SELECT 1 FROM bookings GROUP BY event_id, user_id HAVING count(*) > 1) dup)::int AS double_bookings,
      (SELECT count(*) FROM events e
        WHERE e.booked_seats <> (SELECT count(*) FROM bookings b WHERE b.event_id = e.id))::int AS counter_mismatches,
      (SELECT count(*) FROM bookings)::int AS bookings`);
  const result = rows[0];
  return {
    ...result,
    ok: result.oversold_events === 0 && result.double_bookings === 0 && result.counter_mismatches === 0,
  };
}
