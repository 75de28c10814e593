import { waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, httpRequest, Stack } from '../support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const START_RATE = 40;
const TARGET_MS = 250;
/** Buyers at once: each takes the next place, asks until admitted, then books. */
const BUYERS = 20;
const PHASE_DEADLINE_MS = 25_000;

/**
 * A room with a latency target, in front of a booking path made slow by PostgreSQL (a trigger that sleeps on
 * every booking of the event, which also queues them on the event's row): the pace falls while reservations
 * take longer than the target, and climbs back once they are fast again.
 */
describe('adaptive pace', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    'halves the pace while reservations are slower than the target, then raises it again',
    { timeout: 90_000 },
    async () => {
      const eventId = await stack.db.createEvent(10_000);
      await stack.db.query(
        `CREATE FUNCTION slow_booking() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$`,
      );
      await stack.db.query(
        `CREATE TRIGGER slow_booking BEFORE INSERT ON bookings FOR EACH ROW WHEN (NEW.event_id = ${eventId}) ` +
          'EXECUTE FUNCTION slow_booking()',
      );
      const room = await stack.request(
        'PUT',
        `/api/events/${eventId}/waiting-room`,
        { admissions_per_second: START_RATE, booking_p99_target_ms: TARGET_MS },
        admin,
      );
      expect(room.body).toMatchObject({
        admissions_per_second: START_RATE,
        booking_p99_target_ms: TARGET_MS,
        max_admissions_per_second: START_RATE,
      });
      const pace = async (): Promise<number> =>
        (await stack.request('GET', `/api/events/${eventId}/waiting-room`)).body.admissions_per_second;

      let stop = false;
      let next = 0;
      const statuses: number[] = [];
      const buyer = async (): Promise<void> => {
        while (!stop) {
          const user = `buyer-${next++}`;
          const joined = await httpRequest(`${stack.baseUrl}/api/events/${eventId}/queue`, 'POST', { user_id: user });
          expect(joined.status).toBe(200);
          for (;;) {
            if (stop) return;
            const status = await httpRequest(`${stack.baseUrl}/api/events/${eventId}/queue/admission`, 'POST', {
              ticket: joined.body.ticket,
            });
            if (status.body.state === 'admitted') {
              const headers = { 'admission-token': status.body.admission_token as string };
              const reservation = await httpRequest(
                `${stack.baseUrl}/api/bookings/reserve`,
                'POST',
                { event_id: eventId, user_id: user },
                headers,
              );
              statuses.push(reservation.status);
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      };
      const buyers = Array.from({ length: BUYERS }, () => buyer());
      try {
        // Every booking takes 300 ms in PostgreSQL: over the target, so the pace falls.
        await waitUntil(async () => (await pace()) <= START_RATE / 2, PHASE_DEADLINE_MS, 'the pace halved');
        // Fast again: the pace stops falling and climbs back.
        await stack.db.query('DROP TRIGGER slow_booking ON bookings');
        let lowest = Infinity;
        let raised = 0;
        await waitUntil(
          async () => {
            raised = await pace();
            lowest = Math.min(lowest, raised);
            return raised > lowest;
          },
          PHASE_DEADLINE_MS,
          'the pace raised again',
        );
        expect(raised).toBeLessThanOrEqual(START_RATE);
      } finally {
        stop = true;
        await Promise.all(buyers);
      }
      // Slow is not broken: a reservation booked, or was refused to be retried (503) or timed out (504).
      expect(statuses.filter((status) => ![201, 503, 504].includes(status))).toEqual([]);
      expect(statuses.filter((status) => status === 201).length).toBeGreaterThan(0);
      const booked = statuses.filter((status) => status === 201).length;
      const unknown = statuses.filter((status) => status === 504).length;
      const rows = await stack.db.count('bookings', 'event_id = $1', [eventId]);
      expect(rows).toBeGreaterThanOrEqual(booked);
      expect(rows).toBeLessThanOrEqual(booked + unknown);
    },
  );
});
