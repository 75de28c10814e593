import { BookingSubjects } from '@booking/shared';
import { waitUntil } from '@booking/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, httpRequest, Stack } from './support/stack.js';

/**
 * The gateway's event catalogue (GET /api/events, GET /api/events/:id) against
 * real NATS, PostgreSQL and booking service: what it keeps, when it lets go,
 * and that the booking path never asks it.
 */
describe('event catalogue', () => {
  let stack: Stack;
  let nats: NatsConnection;
  /** A second gateway on the same stack, as another replica behind the load balancer. */
  let otherGateway: string;
  /** A gateway that keeps what it reads for a short time only. */
  let shortLivedGateway: string;
  const lookups = new Map<number, number>();

  const get = (path: string, headers: Record<string, string> = {}, base = stack.baseUrl) =>
    httpRequest(base + path, 'GET', undefined, headers);
  const seatsLeft = async (eventId: number, base = stack.baseUrl) =>
    (await get(`/api/events/${eventId}`, {}, base)).body.available_seats as number;
  /** Seats left as the database has them: the truth the catalogue is a copy of. */
  const seatsLeftInDatabase = async (eventId: number) =>
    (
      await stack.db.query<{ left: number }>('SELECT total_seats - booked_seats AS left FROM events WHERE id = $1', [
        eventId,
      ])
    ).rows[0]!.left;

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { READ_CACHE_TTL_MS: '60000', LIVE_COALESCE_MS: '50' } });
    otherGateway = await stack.startExtraGateway();
    shortLivedGateway = await stack.startExtraGateway({ READ_CACHE_TTL_MS: '300' });
    nats = await connect({ servers: stack.nats.url });
    // Every event lookup any gateway sends to the booking service, counted per event.
    nats.subscribe(stack.names.requestSubject(BookingSubjects.getEvent), {
      callback: (_error, message) => {
        const { id } = message.json<{ data: { id: number } }>().data;
        lookups.set(id, (lookups.get(id) ?? 0) + 1);
      },
    });
    await nats.flush();
  });
  afterAll(async () => {
    await nats?.close();
    await stack?.stop();
  });

  it('answers repeated reads from what it read once, with an ETag; a matching If-None-Match gets a 304', async () => {
    const eventId = await stack.db.createEvent(5, 'Catalogue');
    const first = await get(`/api/events/${eventId}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: eventId, total_seats: 5, available_seats: 5 });
    const tag = first.headers.get('etag');
    expect(tag).toMatch(/^W\/".+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    for (let i = 0; i < 10; i++) expect((await get(`/api/events/${eventId}`)).body).toEqual(first.body);
    expect(lookups.get(eventId)).toBe(1);

    const revalidated = await get(`/api/events/${eventId}`, { 'if-none-match': tag! });
    expect(revalidated.status).toBe(304);
    expect(revalidated.body).toBeUndefined();
    expect(revalidated.headers.get('etag')).toBe(tag);
    // Any tag of a list, weak or strong, and `*` match; another tag does not.
    expect((await get(`/api/events/${eventId}`, { 'if-none-match': `"x", ${tag!.slice(2)}` })).status).toBe(304);
    expect((await get(`/api/events/${eventId}`, { 'if-none-match': '*' })).status).toBe(304);
    expect((await get(`/api/events/${eventId}`, { 'if-none-match': 'W/"other"' })).status).toBe(200);

    const list = await get('/api/events');
    expect(list.status).toBe(200);
    expect(list.body).toContainEqual(first.body);
    expect((await get('/api/events', { 'if-none-match': list.headers.get('etag')! })).status).toBe(304);
  });

  it('tags no error and no write: a 404 and a reservation carry no ETag', async () => {
    const missing = await get('/api/events/987654321', { 'if-none-match': '*' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('etag')).toBeNull();
    const eventId = await stack.db.createEvent(1);
    const booked = await stack.reserve({ event_id: eventId, user_id: 'etag-writer' });
    expect(booked.status).toBe(201);
    expect(booked.headers.get('etag')).toBeNull();
  });

  it('shows a client its own booking and cancellation at once', async () => {
    const eventId = await stack.db.createEvent(20);
    expect(await seatsLeft(eventId)).toBe(20);
    for (let i = 0; i < 8; i++) {
      const booked = await stack.reserve({ event_id: eventId, user_id: `own-${i}` });
      expect(booked.status).toBe(201);
      expect(await seatsLeft(eventId)).toBe(19 - i);
      const listed = (await get('/api/events')).body.find((event: { id: number }) => event.id === eventId);
      expect(listed.available_seats).toBe(19 - i);
    }
    const booked = await stack.reserve({ event_id: eventId, user_id: 'own-cancel' });
    expect(await seatsLeft(eventId)).toBe(11);
    expect((await stack.cancel(booked.body.id, accessKeyOf(booked))).status).toBe(200);
    expect(await seatsLeft(eventId)).toBe(12);
  });

  it('learns of bookings made through another gateway from the booking events', async () => {
    const eventId = await stack.db.createEvent(10);
    const before = await get(`/api/events/${eventId}`);
    expect(before.body.available_seats).toBe(10);
    const booked = await httpRequest(`${otherGateway}/api/bookings/reserve`, 'POST', {
      event_id: eventId,
      user_id: 'elsewhere',
    });
    expect(booked.status).toBe(201);
    await waitUntil(async () => (await seatsLeft(eventId)) === 9, 10_000, 'the catalogue never saw the booking');
    const after = await get(`/api/events/${eventId}`, { 'if-none-match': before.headers.get('etag')! });
    expect(after.status).toBe(200);
    expect(after.body.available_seats).toBe(9);
  });

  it("drops an event an organiser changed: at once through its own gateway, from event.updated through another's", async () => {
    const eventId = await stack.db.createEvent(10, 'Before');
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await get(`/api/events/${eventId}`)).body.name).toBe('Before');
    expect((await get(`/api/events/${eventId}`, {}, otherGateway)).body.name).toBe('Before');
    expect((await get('/api/events', {}, otherGateway)).body.find((e: { id: number }) => e.id === eventId).name).toBe(
      'Before',
    );

    const changed = await stack.request('PATCH', `/api/events/${eventId}`, { name: 'After', total_seats: 12 }, admin);
    expect(changed.status).toBe(200);
    // Its own gateway reads its own write.
    expect((await get(`/api/events/${eventId}`)).body).toMatchObject({ name: 'After', available_seats: 12 });
    // The other learns of it from the stream (event.updated), well before its 60 s copy would expire.
    await waitUntil(
      async () => (await get(`/api/events/${eventId}`, {}, otherGateway)).body.name === 'After',
      10_000,
      'the other gateway kept its copy after event.updated',
    );
    const listed = (await get('/api/events', {}, otherGateway)).body.find((e: { id: number }) => e.id === eventId);
    expect(listed).toMatchObject({ name: 'After', total_seats: 12 });

    const closed = await httpRequest(`${otherGateway}/api/events/${eventId}/close-sales`, 'POST', undefined, admin);
    expect(closed.status).toBe(200);
    await waitUntil(
      async () => (await get(`/api/events/${eventId}`)).body.sales_close_at === closed.body.sales_close_at,
      10_000,
      'the first gateway kept its copy after the sales were closed elsewhere',
    );
  });

  it('never decides a reservation: a stale count neither refuses a free seat nor sells a taken one', async () => {
    const eventId = await stack.db.createEvent(1);
    expect(await seatsLeft(eventId)).toBe(1);
    // Written behind the system's back: no booking event, so the catalogue keeps showing the seat as free.
    await stack.db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'behind-the-back']);
    expect(await seatsLeft(eventId)).toBe(1);
    expect(await seatsLeftInDatabase(eventId)).toBe(0);
    const refused = await stack.reserve({ event_id: eventId, user_id: 'trusts-the-page' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(`No available seats for event ${eventId}`);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);

    // And the other way round: the catalogue shows none left while a seat is free.
    expect(await seatsLeft(eventId, otherGateway)).toBe(0);
    await stack.db.query('DELETE FROM bookings WHERE event_id = $1', [eventId]);
    expect(await seatsLeft(eventId, otherGateway)).toBe(0);
    const booked = await httpRequest(`${otherGateway}/api/bookings/reserve`, 'POST', {
      event_id: eventId,
      user_id: 'finds-the-seat',
    });
    expect(booked.status).toBe(201);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    expect(await seatsLeftInDatabase(eventId)).toBe(0);
  });

  it('reads again once READ_CACHE_TTL_MS has passed, in case a change was missed', async () => {
    const eventId = await stack.db.createEvent(3);
    expect(await seatsLeft(eventId, shortLivedGateway)).toBe(3);
    await stack.db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'unannounced']);
    await waitUntil(
      async () => (await seatsLeft(eventId, shortLivedGateway)) === 2,
      10_000,
      'the catalogue kept its copy past READ_CACHE_TTL_MS',
    );
  });

  it('reads the list every time: an event added by hand shows at once', async () => {
    expect((await get('/api/events')).status).toBe(200);
    const eventId = await stack.db.createEvent(4, 'Added by hand');
    const list = await get('/api/events');
    expect(list.body).toContainEqual(expect.objectContaining({ id: eventId, available_seats: 4 }));
  });

  it('with READ_CACHE_TTL_MS=0 asks the booking service every time', async () => {
    const uncached = await stack.startExtraGateway({ READ_CACHE_TTL_MS: '0' });
    const eventId = await stack.db.createEvent(2);
    for (let i = 0; i < 5; i++) expect((await get(`/api/events/${eventId}`, {}, uncached)).status).toBe(200);
    expect(lookups.get(eventId)).toBe(5);
  });
});
