import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Stack } from './support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Bodies an attacker or a broken client might send to POST /api/bookings/reserve. */
const HOSTILE_BODIES: Array<[name: string, body: string, contentType?: string]> = [
  ['event_id as string', JSON.stringify({ event_id: '1', user_id: 'u' })],
  ['event_id as numeric string with SQL', JSON.stringify({ event_id: '1; DROP TABLE bookings', user_id: 'u' })],
  ['event_id null', JSON.stringify({ event_id: null, user_id: 'u' })],
  ['event_id boolean', JSON.stringify({ event_id: true, user_id: 'u' })],
  ['event_id array', JSON.stringify({ event_id: [1], user_id: 'u' })],
  ['event_id object', JSON.stringify({ event_id: { $gt: 0 }, user_id: 'u' })],
  ['event_id float', JSON.stringify({ event_id: 1.000001, user_id: 'u' })],
  ['event_id negative', JSON.stringify({ event_id: -1, user_id: 'u' })],
  ['event_id zero', JSON.stringify({ event_id: 0, user_id: 'u' })],
  ['event_id beyond int32', JSON.stringify({ event_id: 2147483648, user_id: 'u' })],
  ['event_id huge', '{"event_id": 1e308, "user_id": "u"}'],
  ['event_id beyond double', '{"event_id": 1e400, "user_id": "u"}'],
  ['event_id unsafe integer', '{"event_id": 9007199254740993, "user_id": "u"}'],
  ['user_id number', JSON.stringify({ event_id: 1, user_id: 123 })],
  ['user_id null', JSON.stringify({ event_id: 1, user_id: null })],
  ['user_id array', JSON.stringify({ event_id: 1, user_id: ['a', 'b'] })],
  ['user_id nested object', JSON.stringify({ event_id: 1, user_id: { toString: 'x' } })],
  ['user_id empty', JSON.stringify({ event_id: 1, user_id: '' })],
  ['user_id whitespace only', JSON.stringify({ event_id: 1, user_id: ' \t\n ' })],
  ['user_id with NUL', JSON.stringify({ event_id: 1, user_id: 'abc\u0000def' })],
  ['user_id 256 characters', JSON.stringify({ event_id: 1, user_id: 'x'.repeat(256) })],
  ['user_id 10,000 characters', JSON.stringify({ event_id: 1, user_id: 'x'.repeat(10_000) })],
  ['array body', JSON.stringify([{ event_id: 1, user_id: 'u' }])],
  ['string body', JSON.stringify('event_id=1')],
  ['number body', '1'],
  ['null body', 'null'],
  ['empty object', '{}'],
  ['deeply nested JSON', '{"event_id":' + '['.repeat(500) + ']'.repeat(500) + ',"user_id":"u"}'],
  ['truncated JSON', '{"event_id": 1, "user_id": "u"'],
  ['trailing garbage', '{"event_id": 1, "user_id": "u"} xyz'],
  ['single quotes', "{'event_id': 1, 'user_id': 'u'}"],
  ['form encoded as JSON', 'event_id=1&user_id=u'],
  ['form content type', 'event_id=1&user_id=u', 'application/x-www-form-urlencoded'],
  ['xml content type', '<reserve event_id="1" user_id="u"/>', 'application/xml'],
  ['body over the size limit', JSON.stringify({ event_id: 1, user_id: 'u', pad: 'x'.repeat(50_000) })],
];

describe('hostile input', () => {
  let stack: Stack;
  let eventId: number;

  beforeAll(async () => {
    stack = await Stack.start();
    eventId = await stack.db.createEvent(1000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it.each(HOSTILE_BODIES)('%s → 4xx with a message, nothing written', async (_name, raw, contentType) => {
    // Point the valid-looking variants at a real event, so only the hostile part can explain a refusal.
    const body = raw
      .replaceAll('"event_id": 1,', `"event_id": ${eventId},`)
      .replaceAll('"event_id":1,', `"event_id":${eventId},`);
    const response = await stack.request('POST', '/api/bookings/reserve', body, {
      'content-type': contentType ?? 'application/json',
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(typeof response.body.message).toBe('string');
    expect(response.body.message.length).toBeGreaterThan(0);
    expect(response.body.statusCode).toBe(response.status);
    expect(await stack.db.count('bookings')).toBe(0);
  });

  it.each([
    ["' OR '1'='1"],
    ['1; DROP TABLE bookings; --'],
    ['Robert"); DELETE FROM events; --'],
    ['%00%27'],
    ['\\x00\\'],
    ['ユーザー🎟️'],
    ['Ünïcødé user ñ'],
    ['\u202Eevil'],
    ['x'.repeat(255)],
    ['用户名-사용자-ユーザー'],
    ['👩‍👩‍👧‍👦 family (a ZWJ sequence)'],
    ['e\u0301\u0302\u0303 (combining marks)'],
    ['h-sur\uFFFD (a real replacement character)'],
    ['\u{1F39F}'.repeat(255)],
    ['\u{10FFFF}\u{E000}'],
  ])('a valid but odd user id %j is stored, read and listed exactly as sent', async (userId) => {
    const response = await stack.reserve({ event_id: eventId, user_id: userId });
    expect(response.status).toBe(201);
    expect(response.body.user_id).toBe(userId);
    const { rows } = await stack.db.query<{ user_id: string }>('SELECT user_id FROM bookings WHERE id = $1', [
      response.body.id,
    ]);
    expect(rows[0]!.user_id).toBe(userId);
    const read = await stack.request('GET', `/api/bookings/${response.body.id}`, undefined, {
      'booking-access-key': response.headers.get('booking-access-key')!,
    });
    expect(read.body.user_id).toBe(userId);
    const list = await stack.request('GET', `/api/bookings?user_id=${encodeURIComponent(userId)}`, undefined, admin);
    expect(list.status).toBe(200);
    expect(list.body.map((booking: { id: number; user_id: string }) => [booking.id, booking.user_id])).toEqual([
      [response.body.id, userId],
    ]);
    expect(await stack.db.count('events')).toBe(1);
  });

  it('keeps forms of one name that differ in code points as different users (no normalisation)', async () => {
    const forms = ['Jos\u00e9', 'Jose\u0301', 'ﬁle', 'file', 'Ａ', 'A'];
    for (const userId of forms) {
      const response = await stack.reserve({ event_id: eventId, user_id: userId });
      expect(response.status, userId).toBe(201);
      expect(response.body.user_id).toBe(userId);
    }
    for (const userId of forms) {
      const list = await stack.request(
        'GET',
        `/api/bookings?event_id=${eventId}&user_id=${encodeURIComponent(userId)}`,
        undefined,
        admin,
      );
      expect(list.body.map((booking: { user_id: string }) => booking.user_id)).toEqual([userId]);
    }
  });

  it('refuses ids with lone surrogates, which would have been stored as U+FFFD and collided', async () => {
    const before = await stack.db.count('bookings');
    for (const raw of ['"h-sur\\ud800"', '"h-sur\\udbff"', '"\\udfffh-sur"']) {
      const response = await stack.reserve(`{"event_id": ${eventId}, "user_id": ${raw}}`);
      expect(response.status, raw).toBe(400);
      expect(response.body.message).toBe('user_id must be well-formed Unicode (it contains a lone surrogate)');
    }
    expect(await stack.db.count('bookings')).toBe(before);
  });

  it('stores event names exactly as sent, and refuses one with a lone surrogate', async () => {
    const name = `Cafe\u0301 ${'\u{1F3B8}'.repeat(200)}`;
    const created = await stack.request('POST', '/api/events', { name, total_seats: 5 }, admin);
    expect(created.status).toBe(201);
    expect((await stack.request('GET', `/api/events/${created.body.id}`)).body.name).toBe(name);
    const { rows } = await stack.db.query<{ name: string }>('SELECT name FROM events WHERE id = $1', [created.body.id]);
    expect(rows[0]!.name).toBe(name);

    const events = await stack.db.count('events');
    const refused = await stack.request('POST', '/api/events', '{"name": "gig \\ud83c", "total_seats": 5}', admin);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('name must be well-formed Unicode (it contains a lone surrogate)');
    expect(await stack.db.count('events')).toBe(events);
  });
});
