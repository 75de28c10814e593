import { BookingEventType } from '@booking/shared';
import { waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, httpRequest, Stack, tokenFor, type ApiResponse } from './support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * The waitlist against the real stack (a booking-service replica in this process, one in its own): each
 * route's answers, and the seats freed by a cancellation or an organiser's change given to the first in
 * line, in the transaction that frees them, with `booking.created` events that say so.
 */
describe('waitlist', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1, captureLogs: true });
    await stack.startNotificationProcess({ LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const path = (eventId: number | string, userId?: string) =>
    `/api/events/${eventId}/waitlist${userId === undefined ? '' : `/${encodeURIComponent(userId)}`}`;
  const join = (eventId: number | string, user_id: unknown, headers: Record<string, string> = {}) =>
    stack.request('POST', path(eventId), { user_id }, headers);
  const place = (eventId: number, userId: string, headers: Record<string, string> = {}) =>
    stack.request('GET', path(eventId, userId), undefined, headers);
  const leave = (eventId: number, userId: string, headers: Record<string, string> = {}) =>
    stack.request('DELETE', path(eventId, userId), undefined, headers);
  /** An event of `seats` seats, booked in full by `holder-<i>`; the reservations, in order. */
  const soldOut = async (seats: number): Promise<{ eventId: number; bookings: ApiResponse[] }> => {
    const eventId = await stack.db.createEvent(seats);
    const bookings: ApiResponse[] = [];
    for (let i = 0; i < seats; i++) {
      const booked = await stack.reserve({ event_id: eventId, user_id: `holder-${i}` });
      expect(booked.status).toBe(201);
      bookings.push(booked);
    }
    return { eventId, bookings };
  };
  const joinAll = async (eventId: number, ...users: string[]) => {
    for (const user of users) expect((await join(eventId, user)).status, user).toBe(201);
  };
  const counts = async (eventId: number) =>
    (
      await stack.db.query<{ booked_seats: number; bookings: number; waiting: number }>(
        `SELECT booked_seats, (SELECT count(*)::int FROM bookings WHERE event_id = e.id) AS bookings,
                (SELECT count(*)::int FROM waitlist WHERE event_id = e.id) AS waiting
         FROM events e WHERE id = $1`,
        [eventId],
      )
    ).rows[0]!;
  const bookedUsers = async (eventId: number) =>
    (
      await stack.db.query<{ user_id: string }>('SELECT user_id FROM bookings WHERE event_id = $1 ORDER BY id', [
        eventId,
      ])
    ).rows.map((row) => row.user_id);
  /** The `booking.created` outbox rows of an event's bookings given from the line, oldest first. */
  const promotions = async (eventId: number) =>
    (
      await stack.db.query<{ user_id: string; correlation_id: string; source: string | null }>(
        `SELECT data->>'user_id' AS user_id, correlation_id, data->>'source' AS source FROM outbox
         WHERE event_id = $1 AND type = $2 AND data ? 'source' ORDER BY position`,
        [eventId, BookingEventType.created],
      )
    ).rows;

  it('joins a sold-out event in order, tells each their current place, and lets them leave', async () => {
    const { eventId } = await soldOut(1);
    const first = await join(eventId, 'ann');
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ event_id: eventId, user_id: 'ann', position: 1, joined_at: expect.any(String) });
    expect(Date.parse(first.body.joined_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await join(eventId, 'bob')).body.position).toBe(2);
    expect((await join(eventId, 'cyd')).body.position).toBe(3);

    expect((await place(eventId, 'bob')).body).toEqual({
      event_id: eventId,
      user_id: 'bob',
      position: 2,
      joined_at: expect.any(String),
    });
    const left = await leave(eventId, 'ann');
    expect(left.status).toBe(204);
    expect(left.body).toBeUndefined();
    expect((await place(eventId, 'bob')).body.position).toBe(1);
    expect((await place(eventId, 'cyd')).body.position).toBe(2);

    const gone = await place(eventId, 'ann');
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe(`User ann is not on the waitlist for event ${eventId}`);
    const again = await leave(eventId, 'ann');
    expect(again.status).toBe(404);
    expect(again.body.message).toBe(`User ann is not on the waitlist for event ${eventId}`);
    expect(await counts(eventId)).toEqual({ booked_seats: 1, bookings: 1, waiting: 2 });
  });

  it('refuses a join with a 409 that says why: seats to book, a booking held, already in line, sales not open', async () => {
    const open = await stack.db.createEvent(3);
    const seatsLeft = await join(open, 'early');
    expect(seatsLeft.status).toBe(409);
    expect(seatsLeft.body.message).toBe(`Event ${open} has seats available: book one instead of joining the waitlist`);

    const { eventId } = await soldOut(1);
    const booked = await join(eventId, 'holder-0');
    expect(booked.status).toBe(409);
    expect(booked.body.message).toBe(`User holder-0 already booked for event ${eventId}`);
    await joinAll(eventId, 'dan', 'eve');
    const twice = await join(eventId, 'eve');
    expect(twice.status).toBe(409);
    expect(twice.body.message).toBe(`User eve is already on the waitlist for event ${eventId}, at position 2`);

    // Sales closed, or the event started: the same message as a reservation gets; the place kept is still told.
    await stack.db.query("UPDATE events SET sales_close_at = now() - interval '1 minute' WHERE id = $1", [eventId]);
    const closed = await join(eventId, 'fay');
    expect(closed.status).toBe(409);
    expect(closed.body.message).toBe(`Sales for event ${eventId} have closed`);
    expect((await stack.reserve({ event_id: eventId, user_id: 'fay' })).body.message).toBe(closed.body.message);
    expect((await join(eventId, 'dan')).body.message).toMatch(/already on the waitlist .* at position 1$/);
    const started = (await soldOut(1)).eventId;
    await stack.db.query("UPDATE events SET starts_at = now() - interval '1 minute' WHERE id = $1", [started]);
    expect((await join(started, 'fay')).body.message).toBe(`Sales for event ${started} have closed`);
    const later = (await soldOut(1)).eventId;
    await stack.db.query("UPDATE events SET sales_open_at = '2999-01-01T00:00:00Z' WHERE id = $1", [later]);
    const notOpen = await join(later, 'fay');
    expect(notOpen.status).toBe(409);
    expect(notOpen.body.message).toBe(`Sales for event ${later} open at 2999-01-01T00:00:00.000Z`);

    const unknown = await join(2_000_000_000, 'fay');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('Event 2000000000 not found');
    expect(await stack.db.count('bookings', 'user_id = $1', ['fay'])).toBe(0);
    expect((await stack.db.query('SELECT 1 FROM waitlist WHERE user_id = $1', ['fay'])).rowCount).toBe(0);
  });

  it('answers bad input with a 400 naming the field', async () => {
    const { eventId } = await soldOut(1);
    const cases: [ApiResponse, string][] = [
      [await join(eventId, ''), 'user_id must not be empty'],
      [await join(eventId, 42), 'user_id must be a string'],
      [await stack.request('POST', path(eventId), {}), 'user_id is required'],
      [await join('abc', 'u'), 'id must be a positive integer'],
      [await join(0, 'u'), 'id must be a positive integer'],
      [await place(eventId, ' '), 'user_id must not be empty'],
      [await leave(eventId, 'a\u0000b'), 'user_id must not contain NUL characters'],
      [await stack.request('GET', path('1.5', 'u')), 'id must be a positive integer'],
      [await stack.request('DELETE', path('-1', 'u')), 'id must be a positive integer'],
    ];
    for (const [response, message] of cases) {
      expect(response.status, message).toBe(400);
      expect(response.body.message).toBe(message);
    }
    expect((await counts(eventId)).waiting).toBe(0);
  });

  it('gives a cancelled seat to the first in line in the same transaction, announced as from the waitlist', async () => {
    const { eventId, bookings } = await soldOut(2);
    await joinAll(eventId, 'w1', 'w2', 'w3');
    const cancelled = await stack.cancel(bookings[0]!.body.id, {
      ...accessKeyOf(bookings[0]!),
      'x-request-id': `cancel-${eventId}`,
    });
    expect(cancelled.status).toBe(200);
    // Already booked when the cancellation is answered: the seat was never free to anyone else.
    expect(await bookedUsers(eventId)).toEqual(['holder-1', 'w1']);
    expect(await counts(eventId)).toEqual({ booked_seats: 2, bookings: 2, waiting: 2 });
    expect((await place(eventId, 'w1')).status).toBe(404);
    expect((await place(eventId, 'w2')).body.position).toBe(1);
    const mine = await stack.request('GET', `/api/bookings?user_id=w1`, undefined, {
      authorization: `Bearer ${await tokenFor({ sub: 'w1' })}`,
    });
    expect(mine.body).toEqual([expect.objectContaining({ event_id: eventId, user_id: 'w1' })]);
    expect(await promotions(eventId)).toEqual([
      { user_id: 'w1', correlation_id: `cancel-${eventId}`, source: 'waitlist' },
    ]);

    // On the stream, and notified like any booking, with its source.
    await stack.outboxDrained();
    const streamed = (await stack.streamEvents())
      .map((stored) => stored.event)
      .filter((event) => event.correlation_id === `cancel-${eventId}`);
    expect(streamed.map((event) => event.type)).toEqual([BookingEventType.cancelled, BookingEventType.created]);
    expect(streamed[1]!.data).toMatchObject({ event_id: eventId, user_id: 'w1', source: 'waitlist' });
    await waitUntil(
      async () =>
        stack.logs.notificationService
          .lines()
          .some(
            (line) =>
              line.notification === BookingEventType.created && line.user_id === 'w1' && line.source === 'waitlist',
          ),
      20_000,
      'no notification of the seat given from the waitlist',
    );
    const direct = stack.logs.notificationService
      .lines()
      .find((line) => line.notification === BookingEventType.created && line.user_id === 'holder-1');
    expect(direct).toBeDefined();
    expect(direct.source).toBeUndefined();

    // The catalogue shows the event still full.
    expect((await stack.request('GET', `/api/events/${eventId}`)).body.available_seats).toBe(0);
  });

  it('gives seats added by the organiser to the line in order, up to the seats added', async () => {
    const { eventId } = await soldOut(1);
    await joinAll(eventId, 'p1', 'p2', 'p3');
    const raised = await stack.request(
      'PATCH',
      `/api/events/${eventId}`,
      { total_seats: 3 },
      {
        ...admin,
        'x-request-id': `raise-${eventId}`,
      },
    );
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ total_seats: 3, booked_seats: 3, available_seats: 0 });
    expect(await bookedUsers(eventId)).toEqual(['holder-0', 'p1', 'p2']);
    expect((await place(eventId, 'p3')).body.position).toBe(1);
    expect(await promotions(eventId)).toEqual([
      { user_id: 'p1', correlation_id: `raise-${eventId}`, source: 'waitlist' },
      { user_id: 'p2', correlation_id: `raise-${eventId}`, source: 'waitlist' },
    ]);
    // More seats than people waiting: the rest are for anyone.
    await stack.request('PATCH', `/api/events/${eventId}`, { total_seats: 6 }, admin);
    expect(await counts(eventId)).toEqual({ booked_seats: 4, bookings: 4, waiting: 0 });
    expect((await stack.reserve({ event_id: eventId, user_id: 'walk-in' })).status).toBe(201);
    // Capacity reduced: never below the seats booked, and the line is untouched.
    expect((await stack.request('PATCH', `/api/events/${eventId}`, { total_seats: 5 }, admin)).status).toBe(200);
    await joinAll(eventId, 'p4');
    const below = await stack.request('PATCH', `/api/events/${eventId}`, { total_seats: 4 }, admin);
    expect(below.status).toBe(409);
    expect((await place(eventId, 'p4')).body.position).toBe(1);
    expect(await counts(eventId)).toEqual({ booked_seats: 5, bookings: 5, waiting: 1 });
  });

  it('serves nobody while sales are closed, keeps the line, and serves it when the organiser reopens sales', async () => {
    const { eventId, bookings } = await soldOut(2);
    await joinAll(eventId, 'c1', 'c2');
    expect((await stack.request('POST', `/api/events/${eventId}/close-sales`, undefined, admin)).status).toBe(200);
    expect((await stack.cancel(bookings[0]!.body.id, accessKeyOf(bookings[0]!))).status).toBe(200);
    expect(await counts(eventId)).toEqual({ booked_seats: 1, bookings: 1, waiting: 2 });
    expect((await place(eventId, 'c1')).body.position).toBe(1);
    expect((await leave(eventId, 'c2')).status).toBe(204);

    // Sales set to open later while someone waits: refused (they would open with no one to serve the line first).
    const later = await stack.request(
      'PATCH',
      `/api/events/${eventId}`,
      { sales_open_at: '2999-01-01T00:00:00Z', sales_close_at: null },
      admin,
    );
    expect(later.status).toBe(409);
    expect(later.body.message).toBe(
      `Event ${eventId} has 1 people on its waitlist; its sales cannot be set to open later while they wait (close the sales instead)`,
    );
    const reopened = await stack.request('PATCH', `/api/events/${eventId}`, { sales_close_at: null }, admin);
    expect(reopened.status).toBe(200);
    expect(reopened.body.available_seats).toBe(0);
    expect(await bookedUsers(eventId)).toEqual(['holder-1', 'c1']);

    // Once the event has started, a freed seat stays free: nobody is booked for an event under way.
    await joinAll(eventId, 'c3');
    await stack.db.query("UPDATE events SET starts_at = now() - interval '1 minute' WHERE id = $1", [eventId]);
    const holder = (
      await stack.db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1 AND user_id = $2', [
        eventId,
        'holder-1',
      ])
    ).rows[0]!;
    expect((await stack.cancel(holder.id, admin)).status).toBe(200);
    expect(await counts(eventId)).toEqual({ booked_seats: 1, bookings: 1, waiting: 1 });
  });

  it('lets a user token join, see and leave only as its own sub; an admin sees anyone', async () => {
    const required = await stack.startExtraGateway({ AUTH_MODE: 'required' });
    const { eventId } = await soldOut(1);
    const alice = { authorization: `Bearer ${await tokenFor({ sub: 'alice' })}` };
    const call = (method: string, userId: string | undefined, headers: Record<string, string>, body?: unknown) =>
      httpRequest(required + path(eventId, userId), method, body, headers);

    const anonymous = await call('POST', undefined, {}, { user_id: 'alice' });
    expect(anonymous.status).toBe(401);
    const asBob = await call('POST', undefined, alice, { user_id: 'bob' });
    expect(asBob.status).toBe(403);
    expect(asBob.body.message).toBe('A token for alice cannot act as user bob');
    expect((await call('POST', undefined, alice, { user_id: 'alice' })).status).toBe(201);
    expect((await call('GET', 'alice', alice)).body.position).toBe(1);
    expect((await call('GET', 'alice', admin)).body.position).toBe(1);
    await joinAll(eventId, 'bob');
    expect((await call('GET', 'bob', alice)).status).toBe(403);
    expect((await call('DELETE', 'bob', alice)).status).toBe(403);
    expect((await call('GET', 'alice', {})).status).toBe(401);
    expect((await call('DELETE', 'alice', alice)).status).toBe(204);
    expect(await counts(eventId)).toEqual({ booked_seats: 1, bookings: 1, waiting: 1 });
  });

  it('never leaves a user both booked and waiting when their own reservation, their join and a cancellation race', async () => {
    for (let round = 0; round < 15; round++) {
      const { eventId, bookings } = await soldOut(1);
      const user = `racer-${round}`;
      const [reserved, joined, cancelled] = await Promise.all([
        stack.reserve({ event_id: eventId, user_id: user }),
        join(eventId, user),
        stack.cancel(bookings[0]!.body.id, accessKeyOf(bookings[0]!)),
      ]);
      expect(cancelled.status).toBe(200);
      expect([201, 409]).toContain(reserved.status);
      expect([201, 409]).toContain(joined.status);
      const { booked_seats, bookings: rows, waiting } = await counts(eventId);
      expect(booked_seats).toBe(rows);
      expect(waiting).toBe(0);
      const booked = await bookedUsers(eventId);
      // Whatever the order, nobody else has the seat; a racer who got in line was given it.
      expect(booked.filter((bookedUser) => bookedUser !== user)).toEqual([]);
      if (joined.status === 201) expect(booked).toEqual([user]);
      if (booked.length === 0) {
        expect(reserved.body.message).toBe(`No available seats for event ${eventId}`);
        expect(joined.body.message).toBe(
          `Event ${eventId} has seats available: book one instead of joining the waitlist`,
        );
      }
    }
  });
});
