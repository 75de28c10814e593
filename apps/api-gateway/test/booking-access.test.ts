import { randomBytes, randomUUID } from 'node:crypto';
import type { BookingView } from '@booking/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_BOOKING_ACCESS_SECRET, loadGatewayConfig } from '../src/config.js';
import { accessKeyOf, ADMIN_TOKEN, httpRequest, Stack, tokenFor, type ApiResponse } from './support/stack.js';

// Object-level authorization of bookings, proven against the real stack: ids are sequential,
// so every attacker below tries every id from 1 to past the last one, on every booking route.

type Credentials = Record<string, string>;

const bearer = (token: string): Credentials => ({ authorization: `Bearer ${token}` });
const KEY_HEADER = 'booking-access-key';
/** Well-formed, opens nothing. */
const randomKey = (): Credentials => ({ [KEY_HEADER]: randomBytes(32).toString('base64url') });
const notFound = (id: number) => ({ message: `Booking ${id} not found`, error: 'Not Found', statusCode: 404 });
const NO_CREDENTIAL =
  'Send Authorization: Bearer <token>, or the Booking-Access-Key header returned when the booking was made';

interface Made {
  booking: BookingView;
  /** Its access key, as the 201 returned it. */
  key: Credentials;
  /** The owner's token, for bookings made with one. */
  token?: Credentials;
}

describe('booking ownership (AUTH_MODE=optional)', () => {
  let stack: Stack;
  let tokens: Record<'alice' | 'bob' | 'mallory', Credentials>;
  let first: number;
  let second: number;
  const made: Made[] = [];
  /** Past the last id, so that guessing beyond the bookings is tried too. */
  let lastIdTried: number;

  const byUser = (userId: string) => made.find((m) => m.booking.user_id === userId)!;
  const madeById = (id: number) => made.find((m) => m.booking.id === id);
  const ids = () => Array.from({ length: lastIdTried }, (_, i) => i + 1);
  const bookingIdsInDatabase = async () =>
    (await stack.db.query<{ id: number }>('SELECT id FROM bookings ORDER BY id')).rows.map((row) => row.id);

  const read = (id: number, headers: Credentials) => stack.request('GET', `/api/bookings/${id}`, undefined, headers);
  const history = (id: number, headers: Credentials) =>
    stack.request('GET', `/api/bookings/${id}/history`, undefined, headers);

  beforeAll(async () => {
    stack = await Stack.start();
    tokens = {
      alice: bearer(await tokenFor({ sub: 'alice' })),
      bob: bearer(await tokenFor({ sub: 'bob' })),
      mallory: bearer(await tokenFor({ sub: 'mallory' })),
    };
    first = await stack.db.createEvent(50);
    second = await stack.db.createEvent(50);
    // Anonymous and token bookings interleaved, so each kind's ids are scattered among the others.
    const plan: Array<[string, number, Credentials | undefined]> = [
      ['anna', first, undefined],
      ['alice', first, tokens.alice],
      ['ben', first, undefined],
      ['bob', second, tokens.bob],
      ['carl', second, undefined],
      ['mallory', first, tokens.mallory],
      ['mallory-guest', second, undefined],
      ['dora', second, undefined],
    ];
    for (const [userId, eventId, token] of plan) {
      const response = await stack.reserve({ event_id: eventId, user_id: userId }, token);
      expect(response.status, userId).toBe(201);
      made.push({ booking: response.body, key: accessKeyOf(response), token });
    }
    lastIdTried = Math.max(...made.map((m) => m.booking.id)) + 5;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers each reservation with the contract body, and its own key in a header', () => {
    for (const { booking, key } of made) {
      expect(Object.keys(booking).sort()).toEqual(['created_at', 'event_id', 'id', 'user_id']);
      expect(key[KEY_HEADER]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(new Set(made.map((m) => m.key[KEY_HEADER])).size).toBe(made.length);
  });

  it('tells a caller with no credential at all what to send (401), the same for every id, before any lookup', async () => {
    for (const id of ids()) {
      for (const response of [await read(id, {}), await history(id, {}), await stack.cancel(id)]) {
        expect(response.status, `id ${id}`).toBe(401);
        expect(response.body).toEqual({ message: NO_CREDENTIAL, error: 'Unauthorized', statusCode: 401 });
      }
    }
    expect(await bookingIdsInDatabase()).toEqual(made.map((m) => m.booking.id));
  });

  it('gives a key that does not open the booking the same 404 as a booking that does not exist', async () => {
    const guest = byUser('mallory-guest');
    const attackers: Array<[string, Credentials]> = [
      ['a wrong key', randomKey()],
      ["another booking's key", guest.key],
    ];
    for (const [attacker, headers] of attackers) {
      for (const id of ids()) {
        const own = id === guest.booking.id && headers === guest.key;
        for (const response of [await read(id, headers), await history(id, headers)]) {
          if (own) expect(response.status).toBe(200);
          else expect({ attacker, id, ...response.body }).toEqual({ attacker, id, ...notFound(id) });
        }
        if (own) continue; // cancelling one's own booking is no attack
        const cancel = await stack.cancel(id, headers);
        expect({ attacker, id, ...cancel.body }).toEqual({ attacker, id, ...notFound(id) });
      }
    }
    expect(await bookingIdsInDatabase()).toEqual(made.map((m) => m.booking.id));
  });

  it("refuses another user's token (403, as before) and never shows or cancels what it holds", async () => {
    for (const id of ids()) {
      const booking = madeById(id)?.booking;
      const responses = [await read(id, tokens.mallory), await history(id, tokens.mallory)];
      if (booking?.user_id !== 'mallory') responses.push(await stack.cancel(id, tokens.mallory));
      for (const response of responses) {
        if (!booking) expect(response.body, `id ${id}`).toEqual(notFound(id));
        else if (booking.user_id === 'mallory') expect(response.status).toBe(200);
        else {
          expect(response.status, `id ${id}`).toBe(403);
          expect(response.body.message).toMatch(/^A token for mallory cannot (read bookings of|act as) user /);
          expect(JSON.stringify(response.body)).not.toContain(booking.created_at);
        }
      }
    }
    // A wrong key beside the token changes nothing.
    const anna = byUser('anna').booking;
    expect((await read(anna.id, { ...tokens.mallory, ...randomKey() })).status).toBe(403);
    expect(await bookingIdsInDatabase()).toEqual(made.map((m) => m.booking.id));
    expect(await stack.db.count('bookings')).toBe(made.length);
    const cancelled = await stack.db.query("SELECT 1 FROM outbox WHERE type = 'booking.cancelled'");
    expect(cancelled.rowCount).toBe(0);
  });

  it('lists bookings only for a token: its own, or any for an admin', async () => {
    for (const path of ['/api/bookings', '/api/bookings?user_id=anna', `/api/bookings?event_id=${first}`]) {
      for (const headers of [{}, byUser('anna').key]) {
        const response = await stack.request('GET', path, undefined, headers);
        expect(response.status, path).toBe(401);
        expect(response.body.message).toMatch(/^Listing bookings needs Authorization: Bearer <token>/);
      }
    }
    const userIds = (response: ApiResponse) => response.body.map((b: BookingView) => b.user_id);
    expect(userIds(await stack.request('GET', '/api/bookings', undefined, tokens.mallory))).toEqual(['mallory']);
    expect(userIds(await stack.request('GET', `/api/bookings?event_id=${second}`, undefined, tokens.mallory))).toEqual(
      [],
    );
    const foreign = await stack.request('GET', '/api/bookings?user_id=alice', undefined, tokens.mallory);
    expect(foreign.status).toBe(403);
    expect(userIds(await stack.request('GET', '/api/bookings', undefined, tokens.alice))).toEqual(['alice']);
    const asAdmin = await stack.request('GET', `/api/bookings?event_id=${first}`, undefined, bearer(ADMIN_TOKEN));
    expect(userIds(asAdmin)).toEqual(['anna', 'alice', 'ben', 'mallory']);
  });

  it("lets the owner's key, the owner's token and an admin token read, see the history of, and cancel", async () => {
    const admin = bearer(ADMIN_TOKEN);
    for (const { booking, key, token } of made) {
      for (const headers of [key, admin, ...(token ? [token] : [])]) {
        const found = await read(booking.id, headers);
        expect(found.status).toBe(200);
        expect(found.body).toEqual(booking);
        const trail = await history(booking.id, headers);
        expect(trail.status).toBe(200);
        expect(trail.body).toMatchObject({ booking_id: booking.id, status: 'active' });
      }
    }
    const anna = byUser('anna');
    const alice = byUser('alice');
    const ben = byUser('ben');
    for (const [{ booking }, headers] of [
      [anna, anna.key],
      [alice, alice.token!],
      [ben, bearer(ADMIN_TOKEN)],
    ] as const) {
      const cancelled = await stack.cancel(booking.id, headers);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject(booking);
    }
    const gone = new Set([anna, alice, ben].map((m) => m.booking.id));
    expect(await bookingIdsInDatabase()).toEqual(made.map((m) => m.booking.id).filter((id) => !gone.has(id)));
    // The key still opens the audit trail of its cancelled booking; the booking itself is gone.
    const trail = await history(anna.booking.id, anna.key);
    expect(trail.body.status).toBe('cancelled');
    expect(trail.body.events.map((e: { type: string }) => e.type)).toEqual(['booking.created', 'booking.cancelled']);
    expect((await read(anna.booking.id, anna.key)).body).toEqual(notFound(anna.booking.id));
  });

  it('refuses a malformed key with 400, before looking anything up', async () => {
    const id = byUser('carl').booking.id;
    const bad = [byUser('carl').key[KEY_HEADER]!.slice(1), `${byUser('carl').key[KEY_HEADER]}=`, 'x'.repeat(43) + '!'];
    for (const key of bad) {
      for (const response of [
        await read(id, { [KEY_HEADER]: key }),
        await history(id, { [KEY_HEADER]: key }),
        await stack.cancel(id, { [KEY_HEADER]: key }),
      ]) {
        expect(response.status).toBe(400);
        expect(response.body.message).toBe(
          'Booking-Access-Key must be the 43-character key returned in that header when the booking was made',
        );
      }
    }
    expect(await stack.db.count('bookings', 'id = $1', [id])).toBe(1);
  });

  it('replays the key with an idempotent reservation, and a cancel only to the holder of the key', async () => {
    const body = { event_id: second, user_id: 'replayer' };
    const idempotencyKey = { 'idempotency-key': randomUUID() };
    const booked = await stack.reserve(body, idempotencyKey);
    const replayed = await stack.reserve(body, idempotencyKey);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(booked.body);
    expect(accessKeyOf(replayed)).toEqual(accessKeyOf(booked));

    const id = booked.body.id;
    const cancelKey = { 'idempotency-key': randomUUID() };
    expect((await stack.cancel(id, { ...cancelKey, ...accessKeyOf(booked) })).status).toBe(200);
    // Someone else repeating the request with the same Idempotency-Key gets no replay of it.
    const stranger = await stack.cancel(id, cancelKey);
    expect(stranger.status).toBe(401);
    expect(stranger.headers.get('idempotent-replayed')).toBeNull();
    const wrongKey = await stack.cancel(id, { ...cancelKey, ...randomKey() });
    expect(wrongKey.body).toEqual(notFound(id));
    const again = await stack.cancel(id, { ...cancelKey, ...accessKeyOf(booked) });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('binds the key to the booking, not to its id: a booking that reuses the id is not opened', async () => {
    const dora = byUser('dora');
    // As after a database reset: the same id, event and user, made again at another time.
    await stack.db.query('DELETE FROM bookings WHERE id = $1', [dora.booking.id]);
    await stack.db.query(
      "INSERT INTO bookings (id, event_id, user_id, created_at) VALUES ($1, $2, $3, now() + interval '1 second')",
      [dora.booking.id, dora.booking.event_id, dora.booking.user_id],
    );
    expect((await read(dora.booking.id, dora.key)).body).toEqual(notFound(dora.booking.id));
    expect((await stack.cancel(dora.booking.id, dora.key)).body).toEqual(notFound(dora.booking.id));
    expect(await stack.db.count('bookings', 'id = $1', [dora.booking.id])).toBe(1);
  });

  it('judges a history without a creation event (a booking written by hand) by its user: no key opens it', async () => {
    const { rows } = await stack.db.query<{ id: number }>(
      "INSERT INTO bookings (event_id, user_id) VALUES ($1, 'by-hand') RETURNING id",
      [first],
    );
    const id = rows[0]!.id;
    expect((await stack.cancel(id, bearer(ADMIN_TOKEN))).status).toBe(200); // its only event: booking.cancelled
    const owner = await history(id, bearer(await tokenFor({ sub: 'by-hand' })));
    expect(owner.body.events.map((e: { type: string }) => e.type)).toEqual(['booking.cancelled']);
    expect((await history(id, tokens.mallory)).status).toBe(403);
    expect((await history(id, byUser('carl').key)).body).toEqual(notFound(id));
    expect((await history(id, {})).status).toBe(401);
  });

  it('is checked alike by every gateway replica sharing the secret, and by none with another secret', async () => {
    const { booking, key } = byUser('carl');
    const replica = await stack.startExtraGateway();
    const found = await httpRequest(`${replica}/api/bookings/${booking.id}`, 'GET', undefined, key);
    expect(found.body).toEqual(booking);
    const foreign = await stack.startExtraGateway({ BOOKING_ACCESS_SECRET: randomBytes(32).toString('hex') });
    const refused = await httpRequest(`${foreign}/api/bookings/${booking.id}`, 'GET', undefined, key);
    expect(refused.body).toEqual(notFound(booking.id));
  });

  it('with AUTH_MODE=required, asks for a token even with a key, and keeps the token rules', async () => {
    const required = await stack.startExtraGateway({ AUTH_MODE: 'required' });
    const { booking, key, token } = byUser('bob');
    const path = `${required}/api/bookings/${booking.id}`;
    const keyOnly = await httpRequest(path, 'GET', undefined, key);
    expect(keyOnly.status).toBe(401);
    expect(keyOnly.body.message).toMatch(/^Bearer token required/);
    expect((await httpRequest(path, 'DELETE', undefined, key)).status).toBe(401);
    expect((await httpRequest(path, 'GET', undefined, token)).body).toEqual(booking);
    expect((await httpRequest(path, 'GET', undefined, tokens.mallory)).status).toBe(403);
    expect((await httpRequest(path, 'DELETE', undefined, tokens.mallory)).status).toBe(403);
    expect((await httpRequest(`${path}/history`, 'GET', undefined, bearer(ADMIN_TOKEN))).status).toBe(200);
    expect(await stack.db.count('bookings', 'id = $1', [booking.id])).toBe(1);
  });
});

describe('booking access configuration', () => {
  it('refuses the development secret in production, naming the variable', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      WAITING_ROOM_SECRET: randomBytes(32).toString('hex'),
    };
    expect(() => loadGatewayConfig(production)).toThrow(
      'Invalid configuration: BOOKING_ACCESS_SECRET: must be set to a real secret when NODE_ENV=production',
    );
    expect(() =>
      loadGatewayConfig({ ...production, BOOKING_ACCESS_SECRET: 'change-me-booking-access-secret-32-chars' }),
    ).toThrow('BOOKING_ACCESS_SECRET: must be set to a real secret when NODE_ENV=production');
    expect(() => loadGatewayConfig({ BOOKING_ACCESS_SECRET: 'short' })).toThrow(
      'BOOKING_ACCESS_SECRET: must be at least 32 characters',
    );
    expect(loadGatewayConfig({}).BOOKING_ACCESS_SECRET).toBe(DEV_BOOKING_ACCESS_SECRET);
    const secret = randomBytes(32).toString('hex');
    expect(loadGatewayConfig({ ...production, BOOKING_ACCESS_SECRET: secret }).BOOKING_ACCESS_SECRET).toBe(secret);
  });
});
