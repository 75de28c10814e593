import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayBookingEvents } from '../../booking-service/src/replay/replay.js';
import { accessKeyOf, ADMIN_TOKEN, countStatuses, Stack, type ApiResponse } from './support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

const SEATS = 40;
/** Waiting before the storm, in this order, and never leaving; more than the seats the storm frees. */
const STAYERS = 30;
const STORM_CANCELLATIONS = 20;
const STORM_JOINERS = 40;
const NEWCOMERS = 100;

/**
 * The waitlist's promise, proven by hammering the real stack (two booking-service replicas, each with its
 * own guess of the seats left, one in its own process) and counting rows: a seat freed while anyone waits
 * goes to the first in line, never to a newcomer's reservation; the line's order is kept; nobody is
 * booked twice, or booked and waiting; the seat counter matches the bookings. A sampler reads the event
 * and its line in one snapshot throughout: whenever anyone waits, the event is full.
 */
describe('waitlist under concurrent cancellations, reservations, joins and leaves', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const join = (eventId: number, user_id: string) =>
    stack.request('POST', `/api/events/${eventId}/waitlist`, { user_id });
  const leave = (eventId: number, userId: string) =>
    stack.request('DELETE', `/api/events/${eventId}/waitlist/${userId}`);
  const bookedUsers = async (eventId: number): Promise<string[]> =>
    (
      await stack.db.query<{ user_id: string }>('SELECT user_id FROM bookings WHERE event_id = $1 ORDER BY id', [
        eventId,
      ])
    ).rows.map((row) => row.user_id);
  const promotedInOrder = async (eventId: number): Promise<string[]> =>
    (
      await stack.db.query<{ user_id: string }>(
        `SELECT data->>'user_id' AS user_id FROM outbox
         WHERE event_id = $1 AND type = 'booking.created' AND data->>'source' = 'waitlist' ORDER BY (data->>'booking_id')::int`,
        [eventId],
      )
    ).rows.map((row) => row.user_id);

  /** Reads the event and its line in one snapshot until `done`; each read where someone waits must show it full. */
  async function sampleWhile(eventId: number, done: () => boolean): Promise<{ samples: number; violations: string[] }> {
    const violations: string[] = [];
    let samples = 0;
    while (!done()) {
      const { rows } = await stack.db.query<{ total_seats: number; booked_seats: number; waiting: number }>(
        `SELECT total_seats, booked_seats, (SELECT count(*)::int FROM waitlist WHERE event_id = e.id) AS waiting
         FROM events e WHERE id = $1`,
        [eventId],
      );
      const { total_seats, booked_seats, waiting } = rows[0]!;
      samples++;
      if (waiting > 0 && booked_seats !== total_seats)
        violations.push(`${booked_seats}/${total_seats} with ${waiting} waiting`);
    }
    return { samples, violations };
  }

  /** Runs `storm` while sampling; returns its responses and what the sampler saw. */
  async function stormWithSampler<T>(eventId: number, storm: () => Promise<T>) {
    let finished = false;
    const sampler = sampleWhile(eventId, () => finished);
    const result = await storm().finally(() => (finished = true));
    return { result, sampled: await sampler };
  }

  async function invariants(eventId: number) {
    const { rows } = await stack.db.query<{
      total_seats: number;
      booked_seats: number;
      bookings: number;
      distinct_users: number;
      booked_and_waiting: number;
    }>(
      `SELECT e.total_seats, e.booked_seats,
              (SELECT count(*)::int FROM bookings WHERE event_id = e.id) AS bookings,
              (SELECT count(DISTINCT user_id)::int FROM bookings WHERE event_id = e.id) AS distinct_users,
              (SELECT count(*)::int FROM waitlist w JOIN bookings b ON b.event_id = w.event_id AND b.user_id = w.user_id
                WHERE w.event_id = e.id) AS booked_and_waiting
       FROM events e WHERE id = $1`,
      [eventId],
    );
    const row = rows[0]!;
    expect(row.booked_seats).toBe(row.bookings);
    expect(row.bookings).toBeLessThanOrEqual(row.total_seats);
    expect(row.distinct_users).toBe(row.bookings);
    expect(row.booked_and_waiting).toBe(0);
    return row;
  }

  it('gives every freed seat to the line in order while anyone waits, then to newcomers, never overselling', async () => {
    const eventId = await stack.db.createEvent(SEATS);
    const holders: ApiResponse[] = [];
    for (let i = 0; i < SEATS; i++) holders.push(await stack.reserve({ event_id: eventId, user_id: `holder-${i}` }));
    expect(countStatuses(holders)).toEqual({ 201: SEATS });
    const stayers = Array.from({ length: STAYERS }, (_, i) => `stayer-${i}`);
    for (const user of stayers) expect((await join(eventId, user)).status).toBe(201);

    // The storm: cancellations, newcomers reserving, others joining and (half of them) leaving again.
    const cancel = (booking: ApiResponse) => stack.cancel(booking.body.id, accessKeyOf(booking));
    const { result: storm, sampled } = await stormWithSampler(eventId, () =>
      Promise.all([
        Promise.all(holders.slice(0, STORM_CANCELLATIONS).map(cancel)),
        Promise.all(
          Array.from({ length: NEWCOMERS }, (_, i) => stack.reserve({ event_id: eventId, user_id: `newcomer-${i}` })),
        ),
        Promise.all(
          Array.from({ length: STORM_JOINERS }, async (_, i) => {
            const joined = await join(eventId, `joiner-${i}`);
            return { joined, left: i % 2 === 0 ? await leave(eventId, `joiner-${i}`) : undefined };
          }),
        ),
      ]),
    );
    const [cancelled, newcomers, joiners] = storm;
    expect(countStatuses(cancelled)).toEqual({ 200: STORM_CANCELLATIONS });
    // The line was never empty: no newcomer saw a seat, and no joiner did either.
    expect(countStatuses(newcomers)).toEqual({ 409: NEWCOMERS });
    for (const refused of newcomers) expect(refused.body.message).toBe(`No available seats for event ${eventId}`);
    expect(countStatuses(joiners.map(({ joined }) => joined))).toEqual({ 201: STORM_JOINERS });
    expect(countStatuses(joiners.flatMap(({ left }) => left ?? []))).toEqual({ 204: STORM_JOINERS / 2 });
    expect(sampled.samples).toBeGreaterThan(5);
    expect(sampled.violations).toEqual([]);

    // The freed seats went to the first in line, in order; the rest still wait, in order.
    expect(await promotedInOrder(eventId)).toEqual(stayers.slice(0, STORM_CANCELLATIONS));
    expect(await invariants(eventId)).toMatchObject({ total_seats: SEATS, booked_seats: SEATS });
    const { rows: line } = await stack.db.query<{ user_id: string }>(
      'SELECT user_id FROM waitlist WHERE event_id = $1 ORDER BY id',
      [eventId],
    );
    const waiting = line.map((row) => row.user_id);
    expect(waiting.slice(0, STAYERS - STORM_CANCELLATIONS)).toEqual(stayers.slice(STORM_CANCELLATIONS));
    expect(waiting.slice(STAYERS - STORM_CANCELLATIONS).sort()).toEqual(
      Array.from({ length: STORM_JOINERS / 2 }, (_, i) => `joiner-${2 * i + 1}`).sort(),
    );

    // The line runs dry: more seats freed (the other holders cancel, the organiser adds seats) than people
    // waiting, newcomers reserving all along.
    const stillWaiting = waiting.length;
    const added = SEATS / 2;
    const { result: second, sampled: sampledAgain } = await stormWithSampler(eventId, () =>
      Promise.all([
        Promise.all([
          ...holders.slice(STORM_CANCELLATIONS).map(cancel),
          stack.request('PATCH', `/api/events/${eventId}`, { total_seats: SEATS + added }, admin),
        ]),
        Promise.all(
          Array.from({ length: NEWCOMERS }, (_, i) => stack.reserve({ event_id: eventId, user_id: `late-${i}` })),
        ),
      ]),
    );
    const [cancelledAgain, late] = second;
    expect(countStatuses(cancelledAgain)).toEqual({ 200: SEATS - STORM_CANCELLATIONS + 1 });
    const lateBooked = late.filter((response) => response.status === 201).length;
    // Everyone who waited got a seat; newcomers had only the seats left once the line was empty.
    expect(stillWaiting).toBeLessThan(SEATS - STORM_CANCELLATIONS + added);
    expect(lateBooked).toBeLessThanOrEqual(SEATS - STORM_CANCELLATIONS + added - stillWaiting);
    expect(sampledAgain.violations).toEqual([]);
    const booked = await bookedUsers(eventId);
    for (const user of waiting) expect(booked).toContain(user);
    expect(await promotedInOrder(eventId)).toEqual([...stayers, ...waiting.slice(STAYERS - STORM_CANCELLATIONS)]);
    const final = await invariants(eventId);
    expect(final.bookings).toBe(STORM_CANCELLATIONS + stillWaiting + lateBooked);
    expect((await stack.db.query('SELECT 1 FROM waitlist WHERE event_id = $1', [eventId])).rowCount).toBe(0);

    // A seat given from the line is a booking like any other: the stream's events add up to the table.
    await stack.outboxDrained();
    const nats = await connect({ servers: stack.nats.url });
    try {
      const report = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
      expect(report.mismatches).toEqual([]);
      expect(report.matches).toBe(true);
    } finally {
      await nats.close();
    }
  });
});
