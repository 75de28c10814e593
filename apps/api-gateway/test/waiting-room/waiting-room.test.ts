import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseClient } from '../support/sse.js';
import { ADMIN_TOKEN, httpRequest, Stack, tokenFor, type ApiResponse } from '../support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const TICK_MS = 100;

describe('waiting room', () => {
  let stack: Stack;
  let other: string;

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { WAITING_ROOM_TICK_MS: String(TICK_MS), AUTH_MODE: 'optional' } });
    other = await stack.startExtraGateway({ WAITING_ROOM_TICK_MS: String(TICK_MS) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const switchOn = (eventId: number, settings: Record<string, unknown> = { admissions_per_second: 1000 }) =>
    stack.request('PUT', `/api/events/${eventId}/waiting-room`, settings, admin);
  const join = (eventId: number, userId: string, base = stack.baseUrl) =>
    httpRequest(`${base}/api/events/${eventId}/queue`, 'POST', { user_id: userId });
  const admission = (eventId: number, ticket: string, base = stack.baseUrl) =>
    httpRequest(`${base}/api/events/${eventId}/queue/admission`, 'POST', { ticket });
  const reserve = (eventId: number, userId: string, token?: string, base = stack.baseUrl) =>
    httpRequest(
      `${base}/api/bookings/reserve`,
      'POST',
      { event_id: eventId, user_id: userId },
      token ? { 'admission-token': token } : {},
    );
  /** Asks until the place is admitted (or ends otherwise), at most `timeoutMs`. */
  async function admitted(
    eventId: number,
    ticket: string,
    timeoutMs = 5_000,
    base = stack.baseUrl,
  ): Promise<ApiResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await admission(eventId, ticket, base);
      if (status.body.state !== 'waiting' && status.body.state !== 'early') return status;
      if (Date.now() > deadline) throw new Error(`not admitted: ${JSON.stringify(status.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('refuses reservations without an admission token, with how to queue, on every gateway at once', async () => {
    const eventId = await stack.db.createEvent(10);
    // Read (and cached by the catalogue) before the room is switched on.
    expect((await httpRequest(`${other}/api/events/${eventId}`, 'GET')).status).toBe(200);
    const on = await switchOn(eventId);
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ event_id: eventId, admissions_per_second: 1000, state: 'admitting', waiting: 0 });
    for (const base of [stack.baseUrl, other]) {
      const refused = await reserve(eventId, 'no-token', undefined, base);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toBe(
        `Event ${eventId} sells through a waiting room: join it with POST /api/events/${eventId}/queue, then ` +
          'reserve with the Admission-Token header it gives when your turn comes',
      );
    }
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(0);
  });

  it('admits in arrival order with a single-use token bound to its user and event', async () => {
    const eventId = await stack.db.createEvent(10);
    await switchOn(eventId, { admissions_per_second: 5 });
    const first = await join(eventId, 'first');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ event_id: eventId, user_id: 'first', position: 1, state: 'waiting' });
    const second = await join(eventId, 'second', other);
    expect(second.body.position).toBe(2);
    // Joining again: the same place, through either gateway.
    expect((await join(eventId, 'first', other)).body.position).toBe(1);

    const turn = await admitted(eventId, first.body.ticket);
    expect(turn.body).toMatchObject({ state: 'admitted', position: 1, ahead: 0, estimated_wait_s: 0 });
    const token = turn.body.admission_token as string;
    // The same token every time it is asked for.
    expect((await admission(eventId, first.body.ticket, other)).body.admission_token).toBe(token);

    // Bound to its user: refused for another, and that refusal does not use it up.
    const stolen = await reserve(eventId, 'second', token);
    expect(stolen.status).toBe(403);
    expect(stolen.body.message).toBe('Admission-Token is not valid: it was given to another user');
    // Bound to its event.
    const elsewhere = await stack.db.createEvent(10);
    await switchOn(elsewhere);
    expect((await reserve(elsewhere, 'first', token)).body.message).toBe(
      'Admission-Token is not valid: it was given for another event',
    );

    const booked = await reserve(eventId, 'first', token, other);
    expect(booked.status).toBe(201);
    const again = await reserve(eventId, 'first', token);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/^Admission-Token was already used/);
    expect((await admission(eventId, first.body.ticket)).body.state).toBe('used');
    expect((await reserve(eventId, 'first', 'not.a.token')).status).toBe(403);
  });

  it('gives back a token whose reservation was refused', async () => {
    const eventId = await stack.db.createEvent(10);
    await switchOn(eventId);
    const placed = await join(eventId, 'refused-once');
    const token = (await admitted(eventId, placed.body.ticket)).body.admission_token as string;
    // Sales closed by the organiser: a 409 from the booking service, and the turn is kept.
    await stack.request('POST', `/api/events/${eventId}/close-sales`, undefined, admin);
    expect((await reserve(eventId, 'refused-once', token)).status).toBe(409);
    await stack.request('PATCH', `/api/events/${eventId}`, { sales_close_at: null }, admin);
    expect((await reserve(eventId, 'refused-once', token)).status).toBe(201);
  });

  it('draws early arrivals at random, puts later arrivals behind them, and admits only from the opening', async () => {
    const opensAt = new Date(Date.now() + 2_000).toISOString();
    const eventId = await stack.db.createEvent(100);
    await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: opensAt }, admin);
    expect((await switchOn(eventId, { admissions_per_second: 1000, join_opens_before_s: 60 })).body).toMatchObject({
      state: 'early',
      sales_open_at: opensAt,
    });
    const early: ApiResponse[] = [];
    for (let i = 0; i < 30; i++) early.push(await join(eventId, `early-${i}`));
    expect(early.every((placed) => placed.body.state === 'early')).toBe(true);
    expect((await admission(eventId, early[0]!.body.ticket)).body.state).toBe('early');
    const refused = await reserve(eventId, 'early-0');
    expect(refused.status).toBe(403);

    await new Promise((resolve) => setTimeout(resolve, Date.parse(opensAt) - Date.now() + 50));
    const late = await join(eventId, 'late', other);
    expect(late.body.position).toBe(31);
    const finalPositions = await Promise.all(
      early.map(async (placed) => (await admitted(eventId, placed.body.ticket)).body.position),
    );
    expect([...finalPositions].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Joined one after another, and yet not in that order: the places were drawn.
    expect(finalPositions).not.toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('refuses to open the queue before its time, and follows the sales opening when it moves', async () => {
    const eventId = await stack.db.createEvent(5);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: opensAt }, admin);
    await switchOn(eventId, { admissions_per_second: 10, join_opens_before_s: 60 });
    const tooSoon = await join(eventId, 'too-soon');
    expect(tooSoon.status).toBe(409);
    expect(tooSoon.body.message).toBe(
      `The queue for event ${eventId} opens at ${new Date(Date.parse(opensAt) - 60_000).toISOString()}`,
    );
    const sooner = new Date(Date.now() + 30_000).toISOString();
    await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: sooner }, admin);
    const room = await stack.request('GET', `/api/events/${eventId}/waiting-room`);
    expect(room.body).toMatchObject({ sales_open_at: sooner, state: 'early' });
    expect((await join(eventId, 'too-soon')).body.state).toBe('early');
  });

  it('admits no more clients than there are seats, and the booking of the last one closes the queue', async () => {
    const eventId = await stack.db.createEvent(1);
    await switchOn(eventId, { admissions_per_second: 10 });
    const [buyer, held] = await Promise.all(['buyer', 'held-back'].map((user) => join(eventId, user)));
    const waiting = await join(eventId, 'still-waiting');
    const stream = await SseClient.open(
      `${other}/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(waiting.body.ticket)}`,
    );
    await stream.waitFor((message) => message.event === 'queue');
    const token = (await admitted(eventId, buyer!.body.ticket)).body.admission_token as string;
    // The next turn has come, but the one seat is held by the admission not yet used.
    expect((await admitted(eventId, held!.body.ticket)).body).toMatchObject({ state: 'seats_held', position: 2 });
    expect((await reserve(eventId, 'buyer', token)).status).toBe(201);
    // The last seat booked: everyone still waiting is told, without anyone being refused a seat.
    const closed = await stream.waitFor((message) => JSON.parse(message.data).state === 'closed', 2_000);
    expect(JSON.parse(closed.data)).toMatchObject({ user_id: 'still-waiting', state: 'closed' });
    await stream.waitForEnd();
    expect((await admission(eventId, held!.body.ticket)).body.state).toBe('closed');
    expect((await join(eventId, 'too-late')).body.message).toBe(`Event ${eventId} is sold out: its queue is closed`);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });

  it(
    'gives a seat back to the places held, earliest first, once an admission expires unused',
    { timeout: 30_000 },
    async () => {
      const shortTurns = await stack.startExtraGateway({ WAITING_ROOM_ADMISSION_TTL_S: '10' });
      const eventId = await stack.db.createEvent(1);
      await switchOn(eventId, { admissions_per_second: 10 });
      const idle = await join(eventId, 'idle', shortTurns);
      const first = await join(eventId, 'first', shortTurns);
      const second = await join(eventId, 'second', shortTurns);
      const turn = await admitted(eventId, idle.body.ticket, 5_000, shortTurns);
      expect(turn.body.state).toBe('admitted');
      for (const held of [first, second]) {
        expect((await admitted(eventId, held.body.ticket, 5_000, shortTurns)).body.state).toBe('seats_held');
      }
      await new Promise((resolve) => setTimeout(resolve, Date.parse(turn.body.admission_expires_at) - Date.now() + 50));
      // The later place asks first, but the seat given back is the earlier one's.
      expect((await admission(eventId, second.body.ticket, shortTurns)).body).toMatchObject({
        state: 'seats_held',
        position: 3,
      });
      const offered = await admission(eventId, first.body.ticket, shortTurns);
      expect(offered.body).toMatchObject({ state: 'admitted', position: 2 });
      expect((await reserve(eventId, 'first', offered.body.admission_token, shortTurns)).status).toBe(201);
      expect((await admission(eventId, idle.body.ticket, shortTurns)).body.state).toBe('expired');
      expect((await admission(eventId, second.body.ticket, shortTurns)).body.state).toBe('closed');
    },
  );

  it('streams the place and ends with the admission', async () => {
    const eventId = await stack.db.createEvent(5);
    await switchOn(eventId, { admissions_per_second: 2 });
    const places = await Promise.all(['s-1', 's-2', 's-3'].map((user) => join(eventId, user)));
    const stream = await SseClient.open(
      `${stack.baseUrl}/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(places[2]!.body.ticket)}`,
    );
    const admittedMessage = await stream.waitFor((message) => JSON.parse(message.data).state === 'admitted', 5_000);
    const states = stream.received.map((message) => JSON.parse(message.data).state);
    expect(states[0]).toBe('waiting');
    expect(states.at(-1)).toBe('admitted');
    expect(JSON.parse(admittedMessage.data).admission_token).toEqual(expect.any(String));
    await stream.waitForEnd();
  });

  it('keeps every place across a gateway restart, and a switched-off room lets reservations through', async () => {
    const eventId = await stack.db.createEvent(5);
    await switchOn(eventId, { admissions_per_second: 1 });
    const places = await Promise.all(Array.from({ length: 10 }, (_, i) => join(eventId, `r-${i + 1}`)));
    // The last place's turn is ten seconds away: its stream would stay open that long.
    const stream = await SseClient.open(
      `${stack.baseUrl}/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(places[9]!.body.ticket)}`,
    );
    await stream.waitFor((message) => message.event === 'queue');
    // Shutting down ends the open streams (their clients reconnect elsewhere) rather than waiting on them.
    const closing = Date.now();
    await stack.gateway.close();
    expect(Date.now() - closing).toBeLessThan(5_000);
    await stream.waitForEnd();
    stack.gateways.splice(stack.gateways.indexOf(stack.gateway), 1);
    await stack.startGateway({ WAITING_ROOM_TICK_MS: String(TICK_MS) });
    for (const place of places) {
      expect((await admission(eventId, place.body.ticket)).body.position).toBe(place.body.position);
    }
    expect((await stack.request('DELETE', `/api/events/${eventId}/waiting-room`, undefined, admin)).status).toBe(204);
    expect((await reserve(eventId, 'r-10')).status).toBe(201);
    expect((await stack.request('GET', `/api/events/${eventId}/waiting-room`)).status).toBe(404);
  });

  it('a user token joins only as its own user', async () => {
    const eventId = await stack.db.createEvent(5);
    await switchOn(eventId);
    const token = await tokenFor({ sub: 'alice' });
    const asBob = await stack.request(
      'POST',
      `/api/events/${eventId}/queue`,
      { user_id: 'bob' },
      {
        authorization: `Bearer ${token}`,
      },
    );
    expect(asBob.status).toBe(403);
    const placed = await stack.request(
      'POST',
      `/api/events/${eventId}/queue`,
      { user_id: 'alice' },
      {
        authorization: `Bearer ${token}`,
      },
    );
    expect(placed.status).toBe(200);
    const bobToken = await tokenFor({ sub: 'bob' });
    expect(
      (
        await stack.request(
          'POST',
          `/api/events/${eventId}/queue/admission`,
          { ticket: placed.body.ticket },
          {
            authorization: `Bearer ${bobToken}`,
          },
        )
      ).status,
    ).toBe(403);
  });

  it('answers 503 for the queue while Redis is down, admits nobody, and still books events without a room', async () => {
    const roomEvent = await stack.db.createEvent(5);
    const plainEvent = await stack.db.createEvent(5);
    await switchOn(roomEvent, { admissions_per_second: 1000 });
    const placed = await join(roomEvent, 'redis-down');
    // Every gateway has read the list of rooms since.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await stack.redis.stop();
    for (const base of [stack.baseUrl, other]) {
      const joined = await join(roomEvent, 'redis-down-2', base);
      expect(joined.status).toBe(503);
      expect(joined.headers.get('retry-after')).toBe('1');
      expect((await admission(roomEvent, placed.body.ticket, base)).status).toBe(503);
      expect((await reserve(roomEvent, 'redis-down', undefined, base)).status).toBe(503);
      expect((await reserve(plainEvent, `plain-${base}`, undefined, base)).status).toBe(201);
    }
    expect(await stack.db.count('bookings', 'event_id = $1', [roomEvent])).toBe(0);
  });
});
