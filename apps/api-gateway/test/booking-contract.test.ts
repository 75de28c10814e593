import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, Stack } from './support/stack.js';

describe('HTTP contract (gateway → NATS → booking service → PostgreSQL)', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('POST /api/bookings/reserve', () => {
    it('creates a booking: 201 with id, event_id, user_id, created_at', async () => {
      const eventId = await stack.db.createEvent(10);
      const response = await stack.reserve({ event_id: eventId, user_id: 'user123' });
      expect(response.status).toBe(201);
      expect(Object.keys(response.body).sort()).toEqual(['created_at', 'event_id', 'id', 'user_id']);
      expect(response.body).toMatchObject({ event_id: eventId, user_id: 'user123' });
      expect(Number.isInteger(response.body.id)).toBe(true);
      expect(new Date(response.body.created_at).toISOString()).toBe(response.body.created_at);
      const { rows } = await stack.db.query('SELECT event_id, user_id FROM bookings WHERE id = $1', [response.body.id]);
      expect(rows).toEqual([{ event_id: eventId, user_id: 'user123' }]);
    });

    it('refuses a second booking of the same user: 409 with the exact message', async () => {
      const eventId = await stack.db.createEvent(10);
      expect((await stack.reserve({ event_id: eventId, user_id: 'user123' })).status).toBe(201);
      const second = await stack.reserve({ event_id: eventId, user_id: 'user123' });
      expect(second.status).toBe(409);
      expect(second.body).toEqual({
        message: `User user123 already booked for event ${eventId}`,
        error: 'Conflict',
        statusCode: 409,
      });
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    });

    it('refuses when the event is full: 409 No available seats', async () => {
      const eventId = await stack.db.createEvent(1);
      expect((await stack.reserve({ event_id: eventId, user_id: 'first' })).status).toBe(201);
      const late = await stack.reserve({ event_id: eventId, user_id: 'second' });
      expect(late.status).toBe(409);
      expect(late.body).toEqual({
        message: `No available seats for event ${eventId}`,
        error: 'Conflict',
        statusCode: 409,
      });
    });

    it('reports a duplicate before capacity when both apply', async () => {
      const eventId = await stack.db.createEvent(1);
      await stack.reserve({ event_id: eventId, user_id: 'only' });
      const again = await stack.reserve({ event_id: eventId, user_id: 'only' });
      expect(again.body.message).toBe(`User only already booked for event ${eventId}`);
    });

    it('answers 404 for an event that does not exist', async () => {
      const response = await stack.reserve({ event_id: 987654, user_id: 'user123' });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ message: 'Event 987654 not found', error: 'Not Found', statusCode: 404 });
    });

    it.each([
      [{ user_id: 'u' }, 'event_id is required'],
      [{ event_id: 1 }, 'user_id is required'],
      [{ event_id: '1', user_id: 'u' }, 'event_id must be a number'],
      [{ event_id: 1.5, user_id: 'u' }, 'event_id must be an integer'],
      [{ event_id: 0, user_id: 'u' }, 'event_id must be a positive integer'],
      [{ event_id: -3, user_id: 'u' }, 'event_id must be a positive integer'],
      [{ event_id: 2 ** 31, user_id: 'u' }, 'event_id must be at most 2147483647'],
      [{ event_id: 1, user_id: 42 }, 'user_id must be a string'],
      [{ event_id: 1, user_id: '' }, 'user_id must not be empty'],
      [{ event_id: 1, user_id: 'x'.repeat(256) }, 'user_id must be at most 255 characters (Unicode code points)'],
      [{ event_id: 1, user_id: 'a\u0000b' }, 'user_id must not contain NUL characters'],
    ])('answers 400 naming the field for %j', async (body, message) => {
      const response = await stack.reserve(body);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ message, error: 'Bad Request', statusCode: 400 });
    });

    it('names every bad field at once', async () => {
      const response = await stack.reserve({});
      expect(response.body.message).toBe('event_id is required; user_id is required');
    });

    it('answers 400 for malformed JSON and for bodies that are not objects', async () => {
      const malformed = await stack.reserve('{"event_id": 1,');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toBe('Bad Request');
      for (const body of ['[1,2]', '"text"', '42', 'null', 'true']) {
        const response = await stack.reserve(body);
        expect(response.status, body).toBe(400);
        expect(response.body.message, body).toBe('Request body must be a JSON object');
      }
    });

    it('answers 4xx for a missing body and for a wrong content type', async () => {
      expect((await stack.request('POST', '/api/bookings/reserve')).status).toBe(400);
      const xml = await stack.request('POST', '/api/bookings/reserve', '<booking/>', {
        'content-type': 'application/xml',
      });
      expect(xml.status).toBe(415);
      expect(xml.body).toMatchObject({ error: 'Unsupported Media Type', statusCode: 415 });
    });

    it('answers 413 for a body over the limit', async () => {
      const response = await stack.reserve({ event_id: 1, user_id: 'x'.repeat(100_000) });
      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({ error: 'Payload Too Large', statusCode: 413 });
    });
  });

  // Reads need a credential (booking-access.test.ts): here the key an anonymous booking came with, or an admin token.
  describe('GET /api/bookings', () => {
    it('returns one booking by id, and 404 or 400 otherwise', async () => {
      const eventId = await stack.db.createEvent(5);
      const created = await stack.reserve({ event_id: eventId, user_id: 'reader' });
      const found = await stack.request('GET', `/api/bookings/${created.body.id}`, undefined, accessKeyOf(created));
      expect(found.status).toBe(200);
      expect(found.body).toEqual(created.body);

      const missing = await stack.request('GET', '/api/bookings/99999999', undefined, admin);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ message: 'Booking 99999999 not found', error: 'Not Found', statusCode: 404 });
      for (const bad of ['abc', '0', '-1', '1.5', '99999999999']) {
        const response = await stack.request('GET', `/api/bookings/${bad}`);
        expect(response.status, bad).toBe(400);
        expect(response.body.message, bad).toMatch(/^id must be/);
      }
    });

    it('lists bookings by user, by event, and by both', async () => {
      const first = await stack.db.createEvent(5);
      const second = await stack.db.createEvent(5);
      await stack.reserve({ event_id: first, user_id: 'lister' });
      await stack.reserve({ event_id: second, user_id: 'lister' });
      await stack.reserve({ event_id: first, user_id: 'other' });

      const byUser = await stack.request('GET', '/api/bookings?user_id=lister', undefined, admin);
      expect(byUser.status).toBe(200);
      expect(byUser.body.map((b: { event_id: number }) => b.event_id)).toEqual([first, second]);
      const byEvent = await stack.request('GET', `/api/bookings?event_id=${first}`, undefined, admin);
      expect(byEvent.body.map((b: { user_id: string }) => b.user_id)).toEqual(['lister', 'other']);
      const both = await stack.request('GET', `/api/bookings?event_id=${second}&user_id=lister`, undefined, admin);
      expect(both.body).toHaveLength(1);
      const none = await stack.request('GET', '/api/bookings?user_id=nobody', undefined, admin);
      expect(none.body).toEqual([]);
      const bad = await stack.request('GET', '/api/bookings?event_id=abc');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toBe('event_id must be a positive integer');
    });
  });

  describe('events', () => {
    it('lets an admin create an event: 201 with seats left', async () => {
      const response = await stack.request('POST', '/api/events', { name: 'Launch party', total_seats: 3 }, admin);
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        name: 'Launch party',
        total_seats: 3,
        booked_seats: 0,
        available_seats: 3,
      });
      expect(await stack.db.count('events', 'id = $1', [response.body.id])).toBe(1);
    });

    it('refuses event creation without or with a wrong admin token (401), and bad bodies (400)', async () => {
      const before = await stack.db.count('events');
      const anonymous = await stack.request('POST', '/api/events', { name: 'x', total_seats: 1 });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ error: 'Unauthorized', statusCode: 401 });
      const wrong = await stack.request(
        'POST',
        '/api/events',
        { name: 'x', total_seats: 1 },
        { authorization: 'Bearer nope' },
      );
      expect(wrong.status).toBe(401);
      const basic = await stack.request(
        'POST',
        '/api/events',
        { name: 'x', total_seats: 1 },
        { authorization: 'Basic abc' },
      );
      expect(basic.status).toBe(401);
      for (const [body, message] of [
        [{ total_seats: 1 }, 'name is required'],
        [{ name: ' ', total_seats: 1 }, 'name must not be empty'],
        [{ name: 'x', total_seats: 0 }, 'total_seats must be at least 1'],
        [{ name: 'x', total_seats: '10' }, 'total_seats must be a number'],
        [{ name: 'x', total_seats: 2.5 }, 'total_seats must be an integer'],
        [{ name: 'x', total_seats: 10_000_000 }, 'total_seats must be at most 1000000'],
      ] as const) {
        const response = await stack.request('POST', '/api/events', body, admin);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.message).toBe(message);
      }
      expect(await stack.db.count('events')).toBe(before);
    });

    it('shows an event with seats left, lists events, and 404s an unknown one', async () => {
      const eventId = await stack.db.createEvent(4, 'Seats left');
      await stack.reserve({ event_id: eventId, user_id: 'a' });
      const event = await stack.request('GET', `/api/events/${eventId}`);
      expect(event.status).toBe(200);
      expect(event.body).toMatchObject({
        id: eventId,
        name: 'Seats left',
        total_seats: 4,
        booked_seats: 1,
        available_seats: 3,
      });
      const list = await stack.request('GET', '/api/events');
      expect(list.status).toBe(200);
      expect(list.body.some((e: { id: number }) => e.id === eventId)).toBe(true);
      const missing = await stack.request('GET', '/api/events/424242');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ message: 'Event 424242 not found', error: 'Not Found', statusCode: 404 });
      expect((await stack.request('GET', '/api/events/nope')).status).toBe(400);
    });
  });

  it('answers JSON 404 for unknown routes and reports health', async () => {
    const unknown = await stack.request('GET', '/api/unknown');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'Not Found', statusCode: 404 });
    expect((await stack.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await stack.request('GET', '/health/ready')).status).toBe(200);
  });
});
