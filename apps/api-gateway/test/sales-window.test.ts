import { BookingSubjects } from '@booking/shared';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, countStatuses, Stack, type ApiResponse, type StackOptions } from './support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * The sales window against the real stack: a reservation before sales open, after they close or once the
 * event has started is refused with a 409 that says so, whether it goes alone or in a batch, whether the
 * replica reads first or writes on what it last saw; rows counted after each burst.
 */
function salesWindowSuite(title: string, options: StackOptions): void {
  describe(title, () => {
    let stack: Stack;
    let nats: NatsConnection;
    let batchMessages = 0;

    beforeAll(async () => {
      stack = await Stack.start(options);
      nats = await connect({ servers: stack.nats.url });
      nats.subscribe(stack.names.requestSubject(BookingSubjects.reserveBatch), { callback: () => batchMessages++ });
      await nats.flush();
    });
    afterAll(async () => {
      await nats?.close();
      await stack?.stop();
    });

    /** An event inserted by plain SQL, with the window columns given (SQL expressions, e.g. now() + interval '1 hour'). */
    async function eventWith(seats: number, window: Record<string, string>): Promise<number> {
      const columns = Object.keys(window);
      const { rows } = await stack.db.query<{ id: number }>(
        `INSERT INTO events (name, total_seats${columns.map((c) => `, ${c}`).join('')})
         VALUES ('Windowed', $1${columns.map((c) => `, ${window[c]}`).join('')}) RETURNING id`,
        [seats],
      );
      return rows[0]!.id;
    }
    const salesOpenAt = async (eventId: number) =>
      (
        await stack.db.query<{ iso: string }>(
          `SELECT to_char(sales_open_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso FROM events WHERE id = $1`,
          [eventId],
        )
      ).rows[0]!.iso;
    /** Many reservations at once, distinct users: they reach the booking service in batches (see `batchesFormed`). */
    const burst = (eventId: number, count: number, tag: string): Promise<ApiResponse[]> =>
      Promise.all(
        Array.from({ length: count }, (_, i) => stack.reserve({ event_id: eventId, user_id: `${tag}-${i}` })),
      );
    /** Checks that batches formed since `before` (a count of batch messages): the window is checked on that path too. */
    const batchesFormed = (before: number) => expect(batchMessages).toBeGreaterThan(before);
    const expectAllRefused = (responses: ApiResponse[], message: string) => {
      expect(countStatuses(responses)).toEqual({ 409: responses.length });
      for (const response of responses) {
        expect(response.body).toEqual({ message, error: 'Conflict', statusCode: 409 });
      }
    };
    const failedReasons = async (eventId: number) =>
      (
        await stack.db.query<{ reason: string; n: number }>(
          `SELECT data->>'reason' AS reason, count(*)::int AS n FROM outbox
            WHERE event_id = $1 AND type = 'booking.failed' GROUP BY 1 ORDER BY 1`,
          [eventId],
        )
      ).rows;

    it('refuses a lone reservation before sales open, saying when they open, and after they close or the event started', async () => {
      const notOpen = await eventWith(5, { sales_open_at: "now() + interval '1 day'" });
      const closed = await eventWith(5, { sales_close_at: "now() - interval '1 minute'" });
      const started = await eventWith(5, { starts_at: "now() - interval '1 minute'" });
      // A close after the start does not extend sales past it.
      const startedBeforeClose = await eventWith(5, {
        starts_at: "now() - interval '1 minute'",
        sales_close_at: "now() + interval '1 day'",
      });

      const early = await stack.reserve({ event_id: notOpen, user_id: 'early' });
      expect(early.status).toBe(409);
      expect(early.body).toEqual({
        message: `Sales for event ${notOpen} open at ${await salesOpenAt(notOpen)}`,
        error: 'Conflict',
        statusCode: 409,
      });
      expect(early.body.message).toMatch(/open at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      for (const eventId of [closed, started, startedBeforeClose]) {
        const late = await stack.reserve({ event_id: eventId, user_id: 'late' });
        expect(late.status).toBe(409);
        expect(late.body.message).toBe(`Sales for event ${eventId} have closed`);
      }
      expect(
        await stack.db.count('bookings', 'event_id = ANY($1)', [[notOpen, closed, started, startedBeforeClose]]),
      ).toBe(0);
      // The refusals are on the stream with their reason.
      expect(await failedReasons(notOpen)).toEqual([{ reason: 'sales_not_open', n: 1 }]);
      expect(await failedReasons(started)).toEqual([{ reason: 'sales_closed', n: 1 }]);
    });

    it("the seed's own event (name and seats only) is on sale, and the precedence holds: unknown, duplicate, window, capacity", async () => {
      const plain = await stack.db.createEvent(1);
      expect((await stack.reserve({ event_id: plain, user_id: 'first' })).status).toBe(201);
      await stack.db.query("UPDATE events SET sales_close_at = now() - interval '1 second' WHERE id = $1", [plain]);
      // Sold out and closed: the window is named; the holder of the seat still hears of their booking.
      expect((await stack.reserve({ event_id: plain, user_id: 'second' })).body.message).toBe(
        `Sales for event ${plain} have closed`,
      );
      expect((await stack.reserve({ event_id: plain, user_id: 'first' })).body.message).toBe(
        `User first already booked for event ${plain}`,
      );
      expect(await stack.db.count('bookings', 'event_id = $1', [plain])).toBe(1);
    });

    it('refuses bursts before the window opens, after it closes and once the event started, whatever path a batch takes', async () => {
      const notOpen = await eventWith(50, { sales_open_at: "now() + interval '1 day'" });
      const closed = await eventWith(50, { sales_close_at: "now() - interval '1 minute'" });
      const started = await eventWith(50, { starts_at: "now() - interval '1 minute'" });
      const opensAt = await salesOpenAt(notOpen);
      const before = batchMessages;
      // Twice each: the first burst reads the event, the second goes on what the replica then remembers of it.
      for (const round of [1, 2]) {
        expectAllRefused(await burst(notOpen, 80, `early-${round}`), `Sales for event ${notOpen} open at ${opensAt}`);
        expectAllRefused(await burst(closed, 80, `closed-${round}`), `Sales for event ${closed} have closed`);
        expectAllRefused(await burst(started, 80, `started-${round}`), `Sales for event ${started} have closed`);
      }
      batchesFormed(before);
      expect(await stack.db.count('bookings', 'event_id = ANY($1)', [[notOpen, closed, started]])).toBe(0);
      expect(await failedReasons(notOpen)).toEqual([{ reason: 'sales_not_open', n: 160 }]);
      expect(await failedReasons(closed)).toEqual([{ reason: 'sales_closed', n: 160 }]);
    });

    it('books nothing once sales close, though the replica last saw the event on sale with seats to spare', async () => {
      const eventId = await stack.db.createEvent(500);
      const before = batchMessages;
      // The replicas now remember 500 - 60 seats and an open window: the next batches are written unread.
      const open = await burst(eventId, 60, 'warm');
      expect(countStatuses(open)).toEqual({ 201: 60 });
      // Closed behind the service's back (no event.updated, nothing any replica could have heard of).
      await stack.db.query('UPDATE events SET sales_close_at = now() WHERE id = $1', [eventId]);
      for (const round of [1, 2]) {
        expectAllRefused(await burst(eventId, 100, `after-close-${round}`), `Sales for event ${eventId} have closed`);
      }
      batchesFormed(before);
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(60);
      const { rows } = await stack.db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [
        eventId,
      ]);
      expect(rows[0]!.booked_seats).toBe(60);
    });

    it('books once the window opens, though the replica last saw it shut, and never past capacity', async () => {
      const eventId = await eventWith(30, { sales_open_at: "now() + interval '1 day'" });
      const before = batchMessages;
      expect(countStatuses(await burst(eventId, 60, 'too-early'))).toEqual({ 409: 60 });
      // The organiser opens sales now (by SQL here; PATCH in organiser-tools.test.ts).
      await stack.db.query("UPDATE events SET sales_open_at = now() - interval '1 second' WHERE id = $1", [eventId]);
      const responses = await burst(eventId, 100, 'on-time');
      expect(countStatuses(responses)).toEqual({ 201: 30, 409: 70 });
      for (const refused of responses.filter((r) => r.status === 409)) {
        expect(refused.body.message).toBe(`No available seats for event ${eventId}`);
      }
      batchesFormed(before);
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(30);
    });

    it('closing sales in the middle of a burst: every booking made before the close, none after', async () => {
      const eventId = await stack.db.createEvent(10_000);
      const buyers = Array.from({ length: 400 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `rush-${i}` }));
      const close = stack.request('POST', `/api/events/${eventId}/close-sales`, undefined, admin);
      const responses = await Promise.all(buyers);
      const closed = await close;
      expect(closed.status).toBe(200);
      const statuses = countStatuses(responses);
      expect(Object.keys(statuses).every((status) => status === '201' || status === '409')).toBe(true);
      for (const refused of responses.filter((r) => r.status === 409)) {
        expect(refused.body.message).toBe(`Sales for event ${eventId} have closed`);
      }
      const { rows } = await stack.db.query<{ n: number; late: number; booked_seats: number }>(
        `SELECT count(b.id)::int AS n, count(b.id) FILTER (WHERE b.created_at >= e.sales_close_at)::int AS late,
                e.booked_seats
           FROM events e LEFT JOIN bookings b ON b.event_id = e.id WHERE e.id = $1 GROUP BY e.id`,
        [eventId],
      );
      expect(rows[0]).toEqual({ n: statuses[201] ?? 0, late: 0, booked_seats: statuses[201] ?? 0 });
      // And after it, nothing more.
      expectAllRefused(await burst(eventId, 50, 'after-rush'), `Sales for event ${eventId} have closed`);
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(statuses[201] ?? 0);
    });
  });
}

salesWindowSuite('sales window, one booking-service replica', { inProcessReplicas: 1 });
salesWindowSuite('sales window, two booking-service replicas in separate processes', {
  inProcessReplicas: 0,
  processReplicas: 2,
});
