import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatuses, Stack, type StackOptions } from './support/stack.js';

/**
 * The one hard promise, proven by hammering the real stack and counting rows:
 * never more bookings than seats, never two bookings of one user for one event.
 */
function raceSuite(title: string, options: StackOptions): void {
  describe(title, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await Stack.start(options);
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('1,000 concurrent buyers for 100 seats: exactly 100 × 201 and 900 × 409, 100 rows', async () => {
      const eventId = await stack.db.createEvent(100);
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `buyer-${i}` })),
      );
      expect(countStatuses(responses)).toEqual({ 201: 100, 409: 900 });
      for (const rejected of responses.filter((r) => r.status === 409)) {
        expect(rejected.body.message).toBe(`No available seats for event ${eventId}`);
      }
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(100);
      const winners = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.user_id));
      expect(winners.size).toBe(100);
      const { rows } = await stack.db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [
        eventId,
      ]);
      expect(rows[0]!.booked_seats).toBe(100);
    });

    it('50 concurrent requests of one user: exactly one booking', async () => {
      const eventId = await stack.db.createEvent(100);
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => stack.reserve({ event_id: eventId, user_id: 'eager-user' })),
      );
      expect(countStatuses(responses)).toEqual({ 201: 1, 409: 49 });
      for (const rejected of responses.filter((r) => r.status === 409)) {
        expect(rejected.body.message).toBe(`User eager-user already booked for event ${eventId}`);
      }
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    });

    it('a mixed storm over several events never oversells nor double-books', async () => {
      const events: number[] = [];
      for (const seats of [3, 7, 20]) events.push(await stack.db.createEvent(seats));
      // 40 users, each trying every event many times, in an order that mixes lone
      // reservations and batches over overlapping events (the deadlock-prone mix).
      const requests = Array.from({ length: 900 }, (_, i) => ({
        event_id: events[(i * 7) % events.length]!,
        user_id: `storm-${(i * 13) % 40}`,
      }));
      const responses = await Promise.all(requests.map((body) => stack.reserve(body)));
      expect(Object.keys(countStatuses(responses)).sort()).toEqual(['201', '409']);
      const { rows } = await stack.db.query<{ id: number; total_seats: number; n: string; booked_seats: number }>(
        `SELECT e.id, e.total_seats, e.booked_seats, count(b.id) AS n
           FROM events e LEFT JOIN bookings b ON b.event_id = e.id
          WHERE e.id = ANY($1) GROUP BY e.id ORDER BY e.id`,
        [events],
      );
      // Every event is full (40 distinct users exceed every capacity) and the counter matches the rows.
      expect(rows.map((r) => [Number(r.n), r.booked_seats])).toEqual([
        [3, 3],
        [7, 7],
        [20, 20],
      ]);
      expect(responses.filter((r) => r.status === 201)).toHaveLength(30);
    });
  });
}

raceSuite('one booking-service replica', { inProcessReplicas: 1 });
raceSuite('two booking-service replicas in separate processes', { inProcessReplicas: 0, processReplicas: 2 });
