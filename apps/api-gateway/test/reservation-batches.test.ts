import {
  BookingSubjects,
  ErrorCode,
  MAX_RESERVATIONS_PER_MESSAGE,
  type BookingView,
  type ServiceReply,
} from '@booking/shared';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReservationBatchSender, type SendRequest } from '../src/booking-client/reservation-batch-sender.js';
import { countStatuses, Stack } from './support/stack.js';

/** Reservations that reach a gateway together travel to the booking service as one message. */
describe('reservations sent together, against the real stack', () => {
  let stack: Stack;
  let nats: NatsConnection;
  beforeAll(async () => {
    stack = await Stack.start();
    nats = await connect({ servers: stack.nats.url });
  });
  afterAll(async () => {
    await nats?.close();
    await stack?.stop();
  });

  /** Sends a message to the booking service as the gateway does (Nest's packet) and returns its reply. */
  async function requestBookingService(subject: string, data: unknown): Promise<ServiceReply<unknown>> {
    const message = await nats.request(subject, JSON.stringify({ pattern: subject, data, id: '1' }), {
      timeout: 5_000,
    });
    return message.json<{ response: ServiceReply<unknown> }>().response;
  }

  /** The gateway's booking_reservations_per_message histogram, as Prometheus scrapes it. */
  async function reservationsPerMessage(): Promise<{ count: number; sum: number }> {
    const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    const value = (series: string) =>
      Number(new RegExp(`^booking_reservations_per_message_${series} (\\S+)$`, 'm').exec(text)?.[1]);
    return { count: value('count'), sum: value('sum') };
  }

  it('a burst of buyers goes in fewer messages, each buyer gets their own answer, and no seat is oversold', async () => {
    const eventId = await stack.db.createEvent(30);
    const before = await reservationsPerMessage();
    let batchMessages = 0;
    const spy = nats.subscribe(BookingSubjects.reserveBatch, { callback: () => batchMessages++ });
    await nats.flush();

    const users = [...Array.from({ length: 120 }, (_, i) => `burst-${i}`), ...Array(10).fill('burst-0')];
    const responses = await Promise.all(users.map((user_id) => stack.reserve({ event_id: eventId, user_id })));
    spy.unsubscribe();

    expect(countStatuses(responses)).toEqual({ 201: 30, 409: 100 });
    responses.forEach((response, i) => {
      if (response.status === 201) expect(response.body).toMatchObject({ event_id: eventId, user_id: users[i] });
      else expect(response.body.message).toMatch(new RegExp(`^(User ${users[i]} already booked|No available seats)`));
    });
    const after = await reservationsPerMessage();
    // booking_reservations_per_message: its count is messages sent, its sum the reservations they carried.
    expect(after.sum - before.sum).toBe(130);
    expect(after.count - before.count).toBeLessThan(130);
    expect(batchMessages).toBeGreaterThan(0);

    const { rows } = await stack.db.query<{ n: number; users: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM bookings WHERE event_id = $1',
      [eventId],
    );
    expect(rows[0]).toEqual({ n: 30, users: 30 });
  });

  it('the booking service answers each reservation of a message on its own, in order', async () => {
    const eventId = await stack.db.createEvent(2);
    const reply = await requestBookingService(BookingSubjects.reserveBatch, {
      reservations: [
        { request_id: 'batch-item-a', command: { event_id: eventId, user_id: 'a' } },
        { request_id: 'batch-item-a-again', command: { event_id: eventId, user_id: 'a' } },
        { request_id: 'batch-item-bad', command: { event_id: 'one', user_id: 'b' } },
        // Sent past the gateway: the booking service refuses a lone surrogate by the same shared schema.
        { request_id: 'batch-item-surrogate', command: { event_id: eventId, user_id: 'b\ud800' } },
        { command: { event_id: 987_654, user_id: 'c' } },
        { request_id: 'batch-item-d', command: { event_id: eventId, user_id: 'd' } },
        { request_id: 'batch-item-e', command: { event_id: eventId, user_id: 'e' } },
        { request_id: 'batch-item-none' },
      ],
    });
    expect(reply.ok).toBe(true);
    const answers = (reply as { data: ServiceReply<BookingView>[] }).data;
    expect(answers.map((answer) => (answer.ok ? 'created' : answer.error.code))).toEqual([
      'created',
      ErrorCode.AlreadyBooked,
      ErrorCode.Validation,
      ErrorCode.Validation,
      ErrorCode.EventNotFound,
      'created',
      ErrorCode.SoldOut,
      ErrorCode.Validation,
    ]);
    expect(answers[0]).toMatchObject({ ok: true, data: { event_id: eventId, user_id: 'a' } });
    expect(answers[2]).toMatchObject({ ok: false, error: { message: 'event_id must be a number' } });
    expect(answers[3]).toMatchObject({
      ok: false,
      error: { message: 'user_id must be well-formed Unicode (it contains a lone surrogate)' },
    });

    const { rows: bookings } = await stack.db.query<{ user_id: string }>(
      'SELECT user_id FROM bookings WHERE event_id = $1 ORDER BY user_id',
      [eventId],
    );
    expect(bookings.map((row) => row.user_id)).toEqual(['a', 'd']);
    // Each reservation's events carry its own request id.
    const { rows: events } = await stack.db.query<{ type: string; correlation_id: string }>(
      `SELECT type, correlation_id FROM outbox WHERE event_id = $1 ORDER BY correlation_id`,
      [eventId],
    );
    expect(events).toEqual([
      { type: 'booking.created', correlation_id: 'batch-item-a' },
      { type: 'booking.failed', correlation_id: 'batch-item-a-again' },
      { type: 'booking.created', correlation_id: 'batch-item-d' },
      { type: 'booking.failed', correlation_id: 'batch-item-e' },
    ]);
  });

  it('the booking service refuses a malformed message as a whole, saying why', async () => {
    const tooMany = Array.from({ length: MAX_RESERVATIONS_PER_MESSAGE + 1 }, (_, i) => ({
      command: { event_id: 1, user_id: `u${i}` },
    }));
    const cases: [unknown, string][] = [
      [{ reservations: [] }, 'reservations must not be empty'],
      [{ reservations: 'all of them' }, 'reservations must be an array of { request_id, command }'],
      [{ reservations: tooMany }, `reservations must hold at most ${MAX_RESERVATIONS_PER_MESSAGE} items`],
      [[1, 2], 'Request body must be a JSON object'],
    ];
    for (const [data, message] of cases) {
      expect(await requestBookingService(BookingSubjects.reserveBatch, data)).toEqual({
        ok: false,
        error: { code: ErrorCode.Validation, message },
      });
    }
  });
});

/** The batch sender's rules, with a recorded stand-in for the NATS request. */
describe('ReservationBatchSender', () => {
  // The payload is either one command or a batch message; each test knows which it sent.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Call = { subject: string; payload: any; requestId: string | undefined };

  function senderAnswering(answer: (call: Call) => Promise<unknown>) {
    const calls: Call[] = [];
    const send = ((subject: string, payload: object, requestId: string | undefined) => {
      const call = { subject, payload, requestId };
      calls.push(call);
      return answer(call);
    }) as SendRequest;
    const sizes: number[] = [];
    return { sender: new ReservationBatchSender(send, (size) => sizes.push(size)), calls, sizes };
  }

  const booked = (user_id: string): ServiceReply<BookingView> => ({
    ok: true,
    data: { id: 1, event_id: 1, user_id, created_at: '2026-01-01T00:00:00.000Z' },
  });

  it('sends a lone reservation as a plain booking.reserve', async () => {
    const { sender, calls } = senderAnswering(async ({ payload }) => booked(payload.user_id));
    expect(await sender.reserve({ event_id: 1, user_id: 'alone' }, 'req-1')).toEqual(booked('alone'));
    expect(calls).toEqual([
      { subject: BookingSubjects.reserve, payload: { event_id: 1, user_id: 'alone' }, requestId: 'req-1' },
    ]);
  });

  it('sends reservations of one turn as one message and hands each caller its own answer', async () => {
    const { sender, calls, sizes } = senderAnswering(async ({ payload }) => ({
      ok: true,
      data: payload.reservations.map((item: { command: { user_id: string } }) => booked(item.command.user_id)),
    }));
    const answers = await Promise.all(
      ['x', 'y', 'z'].map((user) => sender.reserve({ event_id: 1, user_id: user }, `req-${user}`)),
    );
    expect(answers).toEqual([booked('x'), booked('y'), booked('z')]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({
      subject: BookingSubjects.reserveBatch,
      payload: {
        reservations: ['x', 'y', 'z'].map((user) => ({
          command: { event_id: 1, user_id: user },
          request_id: `req-${user}`,
        })),
      },
      requestId: undefined,
    });
    expect(sizes).toEqual([3]);
  });

  it(`splits more than ${MAX_RESERVATIONS_PER_MESSAGE} reservations over several messages`, async () => {
    const { sender, calls, sizes } = senderAnswering(async ({ subject, payload }) =>
      subject === BookingSubjects.reserve
        ? booked('u')
        : { ok: true, data: payload.reservations.map(() => booked('u')) },
    );
    const count = MAX_RESERVATIONS_PER_MESSAGE * 2 + 1;
    await Promise.all(Array.from({ length: count }, (_, i) => sender.reserve({ event_id: 1, user_id: `u${i}` }, '')));
    expect(calls.map((call) => call.subject)).toEqual([
      BookingSubjects.reserveBatch,
      BookingSubjects.reserveBatch,
      BookingSubjects.reserve,
    ]);
    expect(calls[1]!.payload.reservations[0].command.user_id).toBe(`u${MAX_RESERVATIONS_PER_MESSAGE}`);
    expect(sizes).toEqual([MAX_RESERVATIONS_PER_MESSAGE, MAX_RESERVATIONS_PER_MESSAGE, 1]);
  });

  it("makes an error reply for the whole message every caller's reply", async () => {
    const unavailable = { ok: false, error: { code: ErrorCode.Unavailable, message: 'database away' } };
    const { sender } = senderAnswering(async () => unavailable);
    const answers = await Promise.all([1, 2].map((i) => sender.reserve({ event_id: 1, user_id: `u${i}` }, '')));
    expect(answers).toEqual([unavailable, unavailable]);
  });

  it('never hands out answers from a reply with the wrong number of them', async () => {
    const { sender } = senderAnswering(async () => ({ ok: true, data: [booked('only-one')] }));
    const answers = await Promise.all([1, 2].map((i) => sender.reserve({ event_id: 1, user_id: `u${i}` }, '')));
    for (const answer of answers) expect(answer).not.toHaveProperty('ok');
  });

  it("makes a failed message (timeout, no responders) every caller's failure", async () => {
    const failure = new Error('no reply in time');
    const { sender } = senderAnswering(() => Promise.reject(failure));
    const outcomes = await Promise.allSettled([1, 2].map((i) => sender.reserve({ event_id: 1, user_id: `u${i}` }, '')));
    expect(outcomes).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });
});
