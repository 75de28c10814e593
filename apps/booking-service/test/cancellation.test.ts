import { BookingEventType } from '@booking/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, countStatuses, Stack } from '../../api-gateway/test/support/stack.js';

// Each booking is cancelled and read with the access key its reservation returned (booking-access.test.ts).
describe('cancellation (DELETE /api/bookings/:id)', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const bookedSeats = async (eventId: number) =>
    (await stack.db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [eventId]))
      .rows[0]!.booked_seats;

  it('cancels, frees the seat for someone else and for the same user, and emits booking.cancelled', async () => {
    const eventId = await stack.db.createEvent(1);
    const first = await stack.reserve({ event_id: eventId, user_id: 'alice' });
    expect(first.status).toBe(201);
    expect((await stack.reserve({ event_id: eventId, user_id: 'bob' })).status).toBe(409);

    const cancelled = await stack.cancel(first.body.id, accessKeyOf(first));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: first.body.id, event_id: eventId, user_id: 'alice' });
    expect(Date.parse(cancelled.body.cancelled_at)).not.toBeNaN();
    expect(await bookedSeats(eventId)).toBe(0);
    expect((await stack.request('GET', `/api/bookings/${first.body.id}`, undefined, accessKeyOf(first))).status).toBe(
      404,
    );

    const bob = await stack.reserve({ event_id: eventId, user_id: 'bob' });
    expect(bob.status).toBe(201);
    expect((await stack.cancel(bob.body.id, accessKeyOf(bob))).status).toBe(200);
    const again = await stack.reserve({ event_id: eventId, user_id: 'alice' });
    expect(again.status).toBe(201);
    expect(await bookedSeats(eventId)).toBe(1);

    await stack.outboxDrained();
    const events = (await stack.streamEvents()).map((s) => s.event).filter((e) => e.data.event_id === eventId);
    expect(events.map((e) => e.type)).toEqual([
      BookingEventType.created,
      BookingEventType.failed,
      BookingEventType.cancelled,
      BookingEventType.created,
      BookingEventType.cancelled,
      BookingEventType.created,
    ]);
  });

  it('the history view shows a booking’s events, oldest first; 404 for an unknown booking', async () => {
    const eventId = await stack.db.createEvent(5);
    const booking = await stack.reserve({ event_id: eventId, user_id: 'historian' });
    const key = accessKeyOf(booking);
    const active = await stack.request('GET', `/api/bookings/${booking.body.id}/history`, undefined, key);
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ booking_id: booking.body.id, status: 'active' });
    expect(active.body.events.map((e: { type: string }) => e.type)).toEqual(['booking.created']);
    expect(active.body.events[0].data).toEqual({
      booking_id: booking.body.id,
      event_id: eventId,
      user_id: 'historian',
      created_at: booking.body.created_at,
    });

    await stack.cancel(booking.body.id, key);
    const history = await stack.request('GET', `/api/bookings/${booking.body.id}/history`, undefined, key);
    expect(history.body.status).toBe('cancelled');
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual(['booking.created', 'booking.cancelled']);
    expect(history.body.events[0].correlation_id).not.toBe('');

    expect((await stack.request('GET', '/api/bookings/99999999/history', undefined, admin)).status).toBe(404);
    expect((await stack.request('GET', '/api/bookings/abc/history')).status).toBe(400);
  });

  it('cancelling twice gives one 200 and then 404; unknown 404; bad id 400', async () => {
    const eventId = await stack.db.createEvent(5);
    const booking = await stack.reserve({ event_id: eventId, user_id: 'twice' });
    expect((await stack.cancel(booking.body.id, accessKeyOf(booking))).status).toBe(200);
    const second = await stack.cancel(booking.body.id, accessKeyOf(booking));
    expect(second.status).toBe(404);
    expect(second.body).toEqual({
      message: `Booking ${booking.body.id} not found`,
      error: 'Not Found',
      statusCode: 404,
    });
    expect((await stack.cancel(2_000_000_000, admin)).status).toBe(404);
    expect((await stack.cancel('x1')).status).toBe(400);
    expect((await stack.cancel(0)).status).toBe(400);
  });

  it('concurrent cancels of one booking: exactly one 200, the rest 404, one booking.cancelled', async () => {
    const eventId = await stack.db.createEvent(5);
    const booking = await stack.reserve({ event_id: eventId, user_id: 'contested' });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => stack.cancel(booking.body.id, accessKeyOf(booking))),
    );
    expect(countStatuses(responses)).toEqual({ 200: 1, 404: 19 });
    expect(await bookedSeats(eventId)).toBe(0);
    await stack.outboxDrained();
    const cancelled = (await stack.streamEvents())
      .map((s) => s.event)
      .filter((e) => e.type === BookingEventType.cancelled && e.data.booking_id === booking.body.id);
    expect(cancelled).toHaveLength(1);
  });

  it('concurrent cancels and reserves on a full event never exceed capacity; every freed seat can be booked', async () => {
    const seats = 30;
    const eventId = await stack.db.createEvent(seats);
    const holders = await Promise.all(
      Array.from({ length: seats }, (_, i) => stack.reserve({ event_id: eventId, user_id: `holder-${i}` })),
    );
    expect(countStatuses(holders)).toEqual({ 201: seats });

    // Half the holders cancel (each twice) while 200 newcomers try to reserve.
    const leaving = holders.slice(0, seats / 2);
    const storm = await Promise.all([
      ...leaving.flatMap((r) => [stack.cancel(r.body.id, accessKeyOf(r)), stack.cancel(r.body.id, accessKeyOf(r))]),
      ...Array.from({ length: 200 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `newcomer-${i}` })),
    ]);
    const cancels = storm.slice(0, leaving.length * 2);
    const reserves = storm.slice(leaving.length * 2);
    expect(countStatuses(cancels)).toEqual({ 200: leaving.length, 404: leaving.length });
    const won = reserves.filter((r) => r.status === 201).length;
    expect(won).toBeLessThanOrEqual(leaving.length);
    expect(reserves.every((r) => r.status === 201 || r.status === 409)).toBe(true);

    const rows = await stack.db.count('bookings', 'event_id = $1', [eventId]);
    expect(rows).toBe(seats - leaving.length + won);
    expect(await bookedSeats(eventId)).toBe(rows);

    // Seats freed but not taken during the storm are still bookable now, up to capacity exactly.
    const late = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `late-${i}` })),
    );
    expect(late.filter((r) => r.status === 201)).toHaveLength(seats - rows);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(seats);
    expect(await bookedSeats(eventId)).toBe(seats);

    await stack.outboxDrained();
    const events = (await stack.streamEvents()).map((s) => s.event).filter((e) => e.data.event_id === eventId);
    const net =
      events.filter((e) => e.type === BookingEventType.created).length -
      events.filter((e) => e.type === BookingEventType.cancelled).length;
    expect(net).toBe(seats);
  });
});
