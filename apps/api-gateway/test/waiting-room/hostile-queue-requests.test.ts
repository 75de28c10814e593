import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Stack, tokenFor } from '../support/stack.js';

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const NO_EVENT = 987_654;
const USER = { authorization: `Bearer ${await tokenFor({ sub: 'someone' })}` };

interface HostileCase {
  name: string;
  method: string;
  /** `{room}`: an event with a waiting room; `{plain}`: one without. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: string | RegExp;
}

const settings = (body: unknown, extra: Partial<HostileCase> = {}): HostileCase => ({
  name: '',
  method: 'PUT',
  path: '/api/events/{room}/waiting-room',
  body,
  headers: ADMIN,
  status: 400,
  message: '',
  ...extra,
});
const TICKET_INVALID = 'ticket is not valid: it is malformed or was not issued by this waiting room';

/** Every waiting-room route, and the reservation's Admission-Token, with what a broken or hostile client sends. */
const HOSTILE: HostileCase[] = [
  {
    ...settings({ admissions_per_second: 0 }),
    name: 'no admissions',
    message: 'admissions_per_second must be at least 1',
  },
  {
    ...settings({ admissions_per_second: '10' }),
    name: 'pace as text',
    message: 'admissions_per_second must be a number',
  },
  {
    ...settings({ admissions_per_second: 1.5 }),
    name: 'fractional pace',
    message: 'admissions_per_second must be an integer',
  },
  {
    ...settings({ admissions_per_second: 10_001 }),
    name: 'pace too high',
    message: 'admissions_per_second must be at most 10000',
  },
  { ...settings({}), name: 'no pace', message: 'admissions_per_second must be a number' },
  {
    ...settings({ admissions_per_second: 5, join_opens_before_s: -1 }),
    name: 'negative lead',
    message: 'join_opens_before_s must be at least 0',
  },
  {
    ...settings({ admissions_per_second: 5, join_opens_before_s: 1e9 }),
    name: 'lead over a week',
    message: 'join_opens_before_s must be at most 604800',
  },
  {
    ...settings({ admissions_per_second: 5, capacity: 3 }),
    name: 'unknown setting',
    message:
      'Unknown field(s) capacity: admissions_per_second, join_opens_before_s, booking_p99_target_ms and ' +
      'max_admissions_per_second may be set',
  },
  {
    ...settings({ admissions_per_second: 5, booking_p99_target_ms: 1 }),
    name: 'latency target under 10 ms',
    message: 'booking_p99_target_ms must be at least 10',
  },
  {
    ...settings({ admissions_per_second: 5, booking_p99_target_ms: '100' }),
    name: 'latency target as text',
    message: 'booking_p99_target_ms must be a number',
  },
  {
    ...settings({ admissions_per_second: 50, max_admissions_per_second: 100 }),
    name: 'highest pace without a target',
    message: 'max_admissions_per_second bounds an adaptive pace: set booking_p99_target_ms with it',
  },
  {
    ...settings({ admissions_per_second: 50, booking_p99_target_ms: 100, max_admissions_per_second: 10 }),
    name: 'highest pace under the starting one',
    message: 'max_admissions_per_second must be at least admissions_per_second',
  },
  { ...settings('[1]'), name: 'array settings', message: 'Request body must be a JSON object' },
  {
    ...settings({ admissions_per_second: 5 }, { headers: USER }),
    name: 'settings with a user token',
    status: 403,
    message: /admin/,
  },
  {
    ...settings({ admissions_per_second: 5 }, { headers: {} }),
    name: 'settings without a token',
    status: 401,
    message: /token/i,
  },
  {
    ...settings({ admissions_per_second: 5 }, { path: `/api/events/${NO_EVENT}/waiting-room` }),
    name: 'settings of an unknown event',
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  {
    ...settings({ admissions_per_second: 5 }, { path: '/api/events/abc/waiting-room' }),
    name: 'settings of a non-numeric id',
    message: 'id must be a positive integer',
  },
  {
    name: 'room of an event without one',
    method: 'GET',
    path: '/api/events/{plain}/waiting-room',
    status: 404,
    message: /^Event \d+ has no waiting room$/,
  },
  {
    name: 'switching off a room that does not exist',
    method: 'DELETE',
    path: '/api/events/{plain}/waiting-room',
    headers: ADMIN,
    status: 404,
    message: /^Event \d+ has no waiting room$/,
  },
  {
    name: 'switching off without a token',
    method: 'DELETE',
    path: '/api/events/{room}/waiting-room',
    status: 401,
    message: /token/i,
  },
  {
    name: 'joining with no user',
    method: 'POST',
    path: '/api/events/{room}/queue',
    body: {},
    status: 400,
    message: 'user_id is required',
  },
  {
    name: 'joining as a 256-character user',
    method: 'POST',
    path: '/api/events/{room}/queue',
    body: { user_id: 'x'.repeat(256) },
    status: 400,
    message: 'user_id must be at most 255 characters (Unicode code points)',
  },
  {
    name: 'joining as another user',
    method: 'POST',
    path: '/api/events/{room}/queue',
    body: { user_id: 'not-me' },
    headers: USER,
    status: 403,
    message: 'A token for someone cannot act as user not-me',
  },
  {
    name: 'joining an event without a room',
    method: 'POST',
    path: '/api/events/{plain}/queue',
    body: { user_id: 'u' },
    status: 404,
    message: /^Event \d+ has no waiting room$/,
  },
  {
    name: 'admission without a ticket',
    method: 'POST',
    path: '/api/events/{room}/queue/admission',
    body: {},
    status: 400,
    message: 'ticket is required',
  },
  {
    name: 'admission with a forged ticket',
    method: 'POST',
    path: '/api/events/{room}/queue/admission',
    body: { ticket: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
    status: 403,
    message: TICKET_INVALID,
  },
  {
    name: 'admission with a ticket of 3000 characters',
    method: 'POST',
    path: '/api/events/{room}/queue/admission',
    body: { ticket: 't'.repeat(3000) },
    status: 400,
    message: 'ticket must be at most 2048 characters',
  },
  {
    name: 'stream without a ticket',
    method: 'GET',
    path: '/api/events/{room}/queue/stream',
    status: 400,
    message: 'ticket is required',
  },
  {
    name: 'stream with the ticket twice',
    method: 'GET',
    path: '/api/events/{room}/queue/stream?ticket=a&ticket=b',
    status: 400,
    message: 'ticket must be given once',
  },
  {
    name: 'stream with SQL as the ticket',
    method: 'GET',
    path: "/api/events/{room}/queue/stream?ticket=' OR 1=1 --",
    status: 403,
    message: TICKET_INVALID,
  },
  {
    name: 'reservation with a garbage Admission-Token',
    method: 'POST',
    path: '/api/bookings/reserve',
    body: { event_id: '{room}', user_id: 'u' },
    headers: { 'admission-token': 'garbage' },
    status: 403,
    message: 'Admission-Token is not valid: it is malformed or was not issued by this waiting room',
  },
  {
    name: 'reservation without an Admission-Token',
    method: 'POST',
    path: '/api/bookings/reserve',
    body: { event_id: '{room}', user_id: 'u' },
    status: 403,
    message: /^Event \d+ sells through a waiting room: join it with POST \/api\/events\/\d+\/queue/,
  },
];

describe('hostile input to the waiting room', () => {
  let stack: Stack;
  let room: number;
  let plain: number;

  beforeAll(async () => {
    stack = await Stack.start();
    room = await stack.db.createEvent(10);
    plain = await stack.db.createEvent(10);
    expect(
      (await stack.request('PUT', `/api/events/${room}/waiting-room`, { admissions_per_second: 5 }, ADMIN)).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it.each(HOSTILE.map((c) => [c.name, c] as const))(
    'answers %s with a 4xx saying what is wrong',
    async (_name, hostile) => {
      const ids = (text: string) => text.replaceAll('{room}', String(room)).replaceAll('{plain}', String(plain));
      const body =
        hostile.body === undefined || typeof hostile.body === 'string'
          ? hostile.body
          : JSON.parse(ids(JSON.stringify(hostile.body)).replace(`"${room}"`, String(room)));
      const response = await stack.request(hostile.method, ids(hostile.path), body, hostile.headers);
      expect(response.status).toBe(hostile.status);
      expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
      if (typeof hostile.message === 'string') expect(response.body.message).toBe(hostile.message);
      else expect(response.body.message).toMatch(hostile.message);
      expect(await stack.db.count('bookings')).toBe(0);
      const view = await stack.request('GET', `/api/events/${room}/waiting-room`);
      expect(view.body).toMatchObject({ admissions_per_second: 5, waiting: 0 });
    },
  );
});
