import { request as rawRequest } from 'node:http';
import { reserveBookingSchema, validate } from '@booking/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Stack, type ApiResponse } from './support/stack.js';

const unsignedToken = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
  JSON.stringify({ sub: 'x', exp: 9_999_999_999 }),
).toString('base64url')}.`;

/** Sends bytes exactly as given (fetch would refuse or normalise some of these). */
function rawHttp(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<ApiResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = rawRequest(
      { host: url.hostname, port: url.port, method, path, headers, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, body: text ? JSON.parse(text) : undefined, headers: new Headers() }),
        );
      },
    );
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

interface HostileCase {
  name: string;
  method?: string;
  path?: string;
  /** A string is sent as is (a Buffer too, with `raw`); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  raw?: boolean;
  status: number;
  message: string | RegExp;
}

const reserve = (body: unknown, extra: Partial<HostileCase> = {}) => ({
  method: 'POST',
  path: '/api/bookings/reserve',
  body,
  ...extra,
});
/** A reservation whose user id holds `bytes` exactly as given, followed by `rest`, sent raw. */
const reserveWithBytes = (bytes: number[], rest = '"}') =>
  reserve(Buffer.from([...Buffer.from('{"event_id":1,"user_id":"h-'), ...bytes, ...Buffer.from(rest)]), {
    headers: { 'content-type': 'application/json' },
    raw: true,
  });
const NO_EVENT = 987_654;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** An organiser's change of event 1, with an admin token: every field is checked before anything is looked up. */
const change = (body: unknown, extra: Partial<HostileCase> = {}) => ({
  method: 'PATCH',
  path: '/api/events/1',
  body,
  headers: ADMIN,
  ...extra,
});
const TIME_ERROR = 'must be an ISO 8601 time with a zone, e.g. 2026-05-01T18:00:00Z, or null';
const CURSOR_ERROR = 'cursor must be a Next-Cursor value from an earlier page';

const HOSTILE: HostileCase[] = [
  // Bodies
  { name: 'truncated JSON', ...reserve('{"event_id": 1,'), status: 400, message: /^Request body is not valid JSON: / },
  {
    name: 'JSON followed by garbage',
    ...reserve('{"event_id":1,"user_id":"u"} xyz'),
    status: 400,
    message: /^Request body is not valid JSON: /,
  },
  {
    name: 'single-quoted JSON',
    ...reserve("{'event_id': 1}"),
    status: 400,
    message: /^Request body is not valid JSON: /,
  },
  {
    name: 'form data sent as JSON',
    ...reserve('event_id=1&user_id=u'),
    status: 400,
    message: /^Request body is not valid JSON: /,
  },
  {
    name: '__proto__ pollution',
    ...reserve('{"__proto__":{"roles":["admin"]},"event_id":1,"user_id":"u"}'),
    status: 400,
    message: 'Request body must not contain "__proto__" or "constructor.prototype" keys',
  },
  {
    name: 'constructor.prototype pollution',
    ...reserve('{"constructor":{"prototype":{"x":1}},"event_id":1,"user_id":"u"}'),
    status: 400,
    message: 'Request body must not contain "__proto__" or "constructor.prototype" keys',
  },
  {
    name: 'empty body with JSON content type',
    ...reserve(''),
    status: 400,
    message: 'Request body is empty; send a JSON object',
  },
  {
    name: 'whitespace-only body',
    ...reserve('   \n '),
    status: 400,
    message: 'Request body is empty; send a JSON object',
  },
  {
    name: 'array body',
    ...reserve([{ event_id: 1, user_id: 'u' }]),
    status: 400,
    message: 'Request body must be a JSON object',
  },
  { name: 'string body', ...reserve('"book me"'), status: 400, message: 'Request body must be a JSON object' },
  { name: 'null body', ...reserve('null'), status: 400, message: 'Request body must be a JSON object' },
  {
    name: 'deeply nested array body',
    ...reserve('['.repeat(4000) + ']'.repeat(4000)),
    status: 400,
    message: 'Request body must be a JSON object',
  },
  {
    name: 'event_id as a string',
    ...reserve({ event_id: '1', user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'SQL in event_id',
    ...reserve({ event_id: '1; DROP TABLE bookings', user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'operator object in event_id',
    ...reserve({ event_id: { $gt: 0 }, user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'event_id as an array',
    ...reserve({ event_id: [1], user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'event_id null',
    ...reserve({ event_id: null, user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'event_id true',
    ...reserve({ event_id: true, user_id: 'u' }),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'event_id overflowing to Infinity',
    ...reserve('{"event_id":1e309,"user_id":"u"}'),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'event_id beyond 2^53',
    ...reserve('{"event_id":9007199254740993,"user_id":"u"}'),
    status: 400,
    message: /^event_id must be/,
  },
  {
    name: 'event_id negative zero',
    ...reserve('{"event_id":-0,"user_id":"u"}'),
    status: 400,
    message: 'event_id must be a positive integer',
  },
  {
    name: 'event_id as a fraction',
    ...reserve({ event_id: 1.000001, user_id: 'u' }),
    status: 400,
    message: 'event_id must be an integer',
  },
  {
    name: 'duplicate key, last one a string',
    ...reserve('{"event_id":1,"event_id":"x","user_id":"u"}'),
    status: 400,
    message: 'event_id must be a number',
  },
  {
    name: 'user_id with NUL',
    ...reserve({ event_id: 1, user_id: 'a\u0000b' }),
    status: 400,
    message: 'user_id must not contain NUL characters',
  },
  {
    name: 'user_id of 256 characters',
    ...reserve({ event_id: 1, user_id: 'u'.repeat(256) }),
    status: 400,
    message: 'user_id must be at most 255 characters (Unicode code points)',
  },
  {
    name: 'user_id of 256 astral characters',
    ...reserve({ event_id: 1, user_id: '\u{1F39F}'.repeat(256) }),
    status: 400,
    message: 'user_id must be at most 255 characters (Unicode code points)',
  },
  {
    name: 'user_id with a lone high surrogate (JSON escape)',
    ...reserve('{"event_id":1,"user_id":"h-sur\\ud800"}'),
    status: 400,
    message: 'user_id must be well-formed Unicode (it contains a lone surrogate)',
  },
  {
    name: 'user_id with a lone low surrogate (JSON escape)',
    ...reserve('{"event_id":1,"user_id":"\\udfff-x"}'),
    status: 400,
    message: 'user_id must be well-formed Unicode (it contains a lone surrogate)',
  },
  {
    name: 'user_id with a surrogate pair in the wrong order',
    ...reserve('{"event_id":1,"user_id":"\\udc00\\ud800"}'),
    status: 400,
    message: 'user_id must be well-formed Unicode (it contains a lone surrogate)',
  },
  {
    name: 'body bytes FF FE (not UTF-8)',
    ...reserveWithBytes([0xff, 0xfe]),
    status: 400,
    message: 'Request body is not valid UTF-8',
  },
  {
    name: 'body with a surrogate encoded as UTF-8 bytes (ED A0 80)',
    ...reserveWithBytes([0xed, 0xa0, 0x80]),
    status: 400,
    message: 'Request body is not valid UTF-8',
  },
  {
    name: 'body with an overlong encoding (C0 AF)',
    ...reserveWithBytes([0xc0, 0xaf]),
    status: 400,
    message: 'Request body is not valid UTF-8',
  },
  {
    name: 'body cut in the middle of a character',
    ...reserveWithBytes([0xe2, 0x82], ''),
    status: 400,
    message: 'Request body is not valid UTF-8',
  },
  {
    name: 'user_id of blanks',
    ...reserve({ event_id: 1, user_id: ' \t\u3000 ' }),
    status: 400,
    message: 'user_id must not be empty',
  },
  {
    name: 'user_id as an object',
    ...reserve({ event_id: 1, user_id: { $ne: null } }),
    status: 400,
    message: 'user_id must be a string',
  },
  {
    name: 'user_id as an array',
    ...reserve({ event_id: 1, user_id: ['a', 'b'] }),
    status: 400,
    message: 'user_id must be a string',
  },
  {
    name: 'SQL in user_id (stored as text, never run)',
    ...reserve({ event_id: NO_EVENT, user_id: "x'); DROP TABLE bookings; --" }),
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  {
    name: 'HTML in user_id',
    ...reserve({ event_id: NO_EVENT, user_id: '<script>alert(1)</script>' }),
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  {
    name: 'body over the size limit',
    ...reserve({ event_id: 1, user_id: 'x'.repeat(50_000) }),
    status: 413,
    message: 'Request body is too large',
  },
  {
    name: 'XML body',
    ...reserve('<booking/>', { headers: { 'content-type': 'application/xml' } }),
    status: 415,
    message: 'Content-Type "application/xml" is not supported; send application/json',
  },
  {
    name: 'text/plain body',
    ...reserve('{"event_id":1,"user_id":"u"}', { headers: { 'content-type': 'text/plain' } }),
    status: 415,
    message: 'Content-Type "text/plain" is not supported; send application/json',
  },
  {
    name: 'body without a content type',
    ...reserve('{"event_id":1,"user_id":"u"}', { headers: { 'content-type': '' } }),
    status: 415,
    message: 'Content-Type (none) is not supported; send application/json',
  },
  // Paths
  { name: 'non-numeric id', path: '/api/bookings/abc', status: 400, message: 'id must be a positive integer' },
  { name: 'negative id', path: '/api/bookings/-1', status: 400, message: 'id must be a positive integer' },
  { name: 'exponent id', path: '/api/bookings/1e3', status: 400, message: 'id must be a positive integer' },
  { name: 'hex id', path: '/api/bookings/0x10', status: 400, message: 'id must be a positive integer' },
  { name: 'NUL in path', path: '/api/bookings/%00', status: 400, message: 'id must be a positive integer' },
  { name: 'SQL in path', path: '/api/bookings/1%20OR%201%3D1', status: 400, message: 'id must be a positive integer' },
  {
    name: 'encoded traversal in path',
    path: '/api/bookings/..%2F..%2Fetc%2Fpasswd',
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'id beyond int32',
    path: '/api/bookings/99999999999999999999',
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'broken percent-encoding',
    path: '/api/bookings/%E0%A4%A',
    status: 400,
    message: 'The URL is not validly percent-encoded',
    raw: true,
  },
  {
    name: 'path segment of 300 characters',
    path: `/api/bookings/${'1'.repeat(300)}`,
    status: 414,
    message: 'A path segment is too long',
  },
  { name: 'unknown route', path: '/api/admin', status: 404, message: 'Cannot GET /api/admin' },
  {
    name: 'extra path segment',
    path: '/api/bookings/1/extra',
    status: 404,
    message: 'Cannot GET /api/bookings/1/extra',
  },
  {
    name: 'unsupported method',
    method: 'PUT',
    path: '/api/bookings/1',
    body: {},
    status: 404,
    message: 'Cannot PUT /api/bookings/1',
  },
  {
    name: 'event id in path not a number',
    path: '/api/events/1;DROP',
    status: 400,
    message: 'id must be a positive integer',
  },
  // Query strings
  {
    name: 'non-numeric event_id filter',
    path: '/api/bookings?event_id=abc',
    status: 400,
    message: 'event_id must be a positive integer',
  },
  {
    name: 'repeated event_id filter',
    path: '/api/bookings?event_id=1&event_id=2',
    status: 400,
    message: 'event_id must be given once',
  },
  {
    name: 'repeated user_id filter',
    path: '/api/bookings?user_id=a&user_id=b',
    status: 400,
    message: 'user_id must be a string',
  },
  { name: 'empty user_id filter', path: '/api/bookings?user_id=', status: 400, message: 'user_id must not be empty' },
  {
    name: 'NUL in user_id filter',
    path: '/api/bookings?user_id=a%00b',
    status: 400,
    message: 'user_id must not contain NUL characters',
  },
  {
    name: 'long user_id filter',
    path: `/api/bookings?user_id=${'u'.repeat(300)}`,
    status: 400,
    message: 'user_id must be at most 255 characters (Unicode code points)',
  },
  {
    name: 'user_id filter decoding to a byte that is not UTF-8',
    path: '/api/bookings?user_id=h-sur%FF',
    status: 400,
    message: 'The query string is not validly percent-encoded UTF-8',
  },
  {
    name: 'user_id filter decoding to an encoded surrogate',
    path: '/api/bookings?user_id=h-sur%ED%A0%80',
    status: 400,
    message: 'The query string is not validly percent-encoded UTF-8',
  },
  {
    name: 'user_id filter ending in half a character',
    path: '/api/bookings?event_id=1&user_id=a%C3',
    status: 400,
    message: 'The query string is not validly percent-encoded UTF-8',
  },
  {
    name: 'query string with a broken escape',
    path: '/api/bookings?user_id=100%',
    status: 400,
    message: 'The query string is not validly percent-encoded UTF-8',
  },
  {
    name: 'exponent event_id filter',
    path: '/api/bookings?event_id=1e3',
    status: 400,
    message: 'event_id must be a positive integer',
  },
  // An organiser's change (PATCH /api/events/:id)
  {
    name: 'change of an unknown field',
    ...change({ booked_seats: 0 }),
    status: 400,
    message:
      "Unknown field(s) booked_seats: an event's name, total_seats, starts_at, venue, description, sales_open_at and sales_close_at may be changed",
  },
  { name: 'change of nothing', ...change({}), status: 400, message: 'Name at least one field to change' },
  {
    name: 'change as an array',
    ...change([{ name: 'x' }]),
    status: 400,
    message: 'Request body must be a JSON object',
  },
  {
    name: 'change with __proto__',
    ...change('{"__proto__":{"total_seats":1},"name":"x"}'),
    status: 400,
    message: 'Request body must not contain "__proto__" or "constructor.prototype" keys',
  },
  {
    name: 'capacity as a string',
    ...change({ total_seats: '10' }),
    status: 400,
    message: 'total_seats must be a number',
  },
  { name: 'capacity of zero', ...change({ total_seats: 0 }), status: 400, message: 'total_seats must be at least 1' },
  {
    name: 'capacity cleared with null',
    ...change({ total_seats: null }),
    status: 400,
    message: 'total_seats must be a number',
  },
  { name: 'name cleared with null', ...change({ name: null }), status: 400, message: 'name must be a string' },
  {
    name: 'venue of 256 characters',
    ...change({ venue: 'v'.repeat(256) }),
    status: 400,
    message: 'venue must be at most 255 characters (Unicode code points)',
  },
  {
    name: 'description of 5001 characters',
    ...change({ description: 'd'.repeat(5001) }),
    status: 400,
    message: 'description must be at most 5000 characters (Unicode code points)',
  },
  {
    name: 'description with NUL',
    ...change({ description: 'a\u0000b' }),
    status: 400,
    message: 'description must not contain NUL characters',
  },
  {
    name: 'start time without a zone',
    ...change({ starts_at: '2026-05-01T18:00:00' }),
    status: 400,
    message: `starts_at ${TIME_ERROR}`,
  },
  {
    name: 'start time as a date only',
    ...change({ starts_at: '2026-05-01' }),
    status: 400,
    message: `starts_at ${TIME_ERROR}`,
  },
  {
    name: 'start time as a number',
    ...change({ starts_at: 1767225600000 }),
    status: 400,
    message: `starts_at ${TIME_ERROR}`,
  },
  {
    name: 'impossible date',
    ...change({ sales_open_at: '2026-02-30T10:00:00Z' }),
    status: 400,
    message: `sales_open_at ${TIME_ERROR}`,
  },
  {
    name: 'start time before the year 2000',
    ...change({ starts_at: '1970-01-01T00:00:00Z' }),
    status: 400,
    message: 'starts_at must lie between the years 2000 and 9999',
  },
  {
    name: 'SQL as a time',
    ...change({ sales_close_at: "now()'; DROP TABLE events; --" }),
    status: 400,
    message: `sales_close_at ${TIME_ERROR}`,
  },
  {
    name: 'sales closing before they open',
    ...change({ sales_open_at: '2030-01-02T00:00:00Z', sales_close_at: '2030-01-01T00:00:00Z' }),
    status: 400,
    message: 'sales_close_at (2030-01-01T00:00:00.000Z) must be after sales_open_at (2030-01-02T00:00:00.000Z)',
  },
  {
    name: 'sales opening after the start',
    ...change({ sales_open_at: '2030-01-02T00:00:00Z', starts_at: '2030-01-01T00:00:00Z' }),
    status: 400,
    message: 'sales_open_at (2030-01-02T00:00:00.000Z) must be before starts_at (2030-01-01T00:00:00.000Z)',
  },
  {
    name: 'change as form data',
    ...change('name=x', { headers: { ...ADMIN, 'content-type': 'application/x-www-form-urlencoded' } }),
    status: 415,
    message: 'Content-Type "application/x-www-form-urlencoded" is not supported; send application/json',
  },
  {
    name: 'change of an event id that is not a number',
    ...change({ name: 'x' }, { path: '/api/events/abc' }),
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'change of an unknown event',
    ...change({ name: 'x' }, { path: `/api/events/${NO_EVENT}` }),
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  {
    name: 'close-sales of an event id beyond int32',
    method: 'POST',
    path: '/api/events/99999999999/close-sales',
    headers: ADMIN,
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'close-sales of an unknown event',
    method: 'POST',
    path: `/api/events/${NO_EVENT}/close-sales`,
    headers: ADMIN,
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  // Paged lists (GET /api/events, GET /api/events/:id/bookings)
  {
    name: 'limit of zero',
    path: '/api/events?limit=0',
    status: 400,
    message: 'limit must be an integer from 1 to 1000',
  },
  {
    name: 'limit over the maximum',
    path: '/api/events?limit=1001',
    status: 400,
    message: 'limit must be an integer from 1 to 1000',
  },
  {
    name: 'limit as a word',
    path: '/api/events?limit=all',
    status: 400,
    message: 'limit must be an integer from 1 to 1000',
  },
  {
    name: 'negative limit',
    path: '/api/events?limit=-5',
    status: 400,
    message: 'limit must be an integer from 1 to 1000',
  },
  { name: 'repeated limit', path: '/api/events?limit=1&limit=2', status: 400, message: 'limit must be given once' },
  { name: 'cursor of garbage', path: '/api/events?cursor=garbage', status: 400, message: CURSOR_ERROR },
  {
    name: 'cursor of base64 JSON that is no cursor',
    path: `/api/events?cursor=${btoa('{"after":"1; DROP"}')}`,
    status: 400,
    message: CURSOR_ERROR,
  },
  {
    name: 'cursor naming id 0',
    path: `/api/events?cursor=${btoa('{"after":0}').replaceAll('=', '')}`,
    status: 400,
    message: 'cursor must be a positive integer',
  },
  {
    name: 'cursor of 500 characters',
    path: `/api/events?cursor=${'a'.repeat(500)}`,
    status: 400,
    message: CURSOR_ERROR,
  },
  { name: 'repeated cursor', path: '/api/events?cursor=a&cursor=b', status: 400, message: 'cursor must be given once' },
  {
    name: 'filter that is not true or false',
    path: '/api/events?on_sale=yes',
    status: 400,
    message: 'on_sale must be true or false',
  },
  { name: 'empty filter', path: '/api/events?upcoming=', status: 400, message: 'upcoming must be true or false' },
  {
    name: 'repeated filter',
    path: '/api/events?sold_out=true&sold_out=false',
    status: 400,
    message: 'sold_out must be given once',
  },
  {
    name: 'bookings of an event id that is not a number',
    path: '/api/events/1%27%20OR%201=1/bookings',
    headers: ADMIN,
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'bookings with a limit over the maximum',
    path: '/api/events/1/bookings?limit=100000',
    headers: ADMIN,
    status: 400,
    message: 'limit must be an integer from 1 to 1000',
  },
  {
    name: 'bookings with a garbage cursor, as CSV',
    path: '/api/events/1/bookings?cursor=%3D1%2B1',
    headers: { ...ADMIN, accept: 'text/csv' },
    status: 400,
    message: CURSOR_ERROR,
  },
  {
    name: 'bookings of an unknown event',
    path: `/api/events/${NO_EVENT}/bookings`,
    headers: ADMIN,
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  // The waitlist
  {
    name: 'waitlist join of an event id that is not a number',
    method: 'POST',
    path: '/api/events/1%27%20OR%201=1/waitlist',
    body: { user_id: 'u' },
    status: 400,
    message: 'id must be a positive integer',
  },
  {
    name: 'waitlist join with a user id that is an object',
    method: 'POST',
    path: '/api/events/1/waitlist',
    body: { user_id: { $ne: null } },
    status: 400,
    message: 'user_id must be a string',
  },
  {
    name: 'waitlist join without a user id',
    method: 'POST',
    path: '/api/events/1/waitlist',
    body: { event_id: 1 },
    status: 400,
    message: 'user_id is required',
  },
  {
    name: 'waitlist join with a form body',
    method: 'POST',
    path: '/api/events/1/waitlist',
    body: 'user_id=u',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    message: /application\/json/,
  },
  {
    name: 'waitlist join of an unknown event',
    method: 'POST',
    path: `/api/events/${NO_EVENT}/waitlist`,
    body: { user_id: 'u' },
    status: 404,
    message: `Event ${NO_EVENT} not found`,
  },
  {
    name: 'waitlist place of a user id with NUL',
    path: '/api/events/1/waitlist/a%00b',
    status: 400,
    message: 'user_id must not contain NUL characters',
  },
  {
    name: 'waitlist place of an event id beyond int32',
    path: '/api/events/2147483648/waitlist/u',
    status: 400,
    message: 'id must be at most 2147483647',
  },
  {
    name: 'waitlist place nobody holds',
    path: '/api/events/1/waitlist/nobody',
    status: 404,
    message: 'User nobody is not on the waitlist for event 1',
  },
  {
    name: 'waitlist leave with a user id of spaces',
    method: 'DELETE',
    path: '/api/events/1/waitlist/%20%20',
    status: 400,
    message: 'user_id must not be empty',
  },
  {
    name: 'waitlist leave with an Idempotency-Key of 256 characters',
    method: 'DELETE',
    path: '/api/events/1/waitlist/u',
    headers: { 'idempotency-key': 'k'.repeat(256) },
    status: 400,
    message: 'Idempotency-Key must be 1-255 visible ASCII characters',
  },
  // Headers
  {
    name: 'Basic credentials',
    path: '/api/bookings',
    headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    status: 401,
    message: 'Authorization header must be "Bearer <token>"',
  },
  {
    name: 'bearer garbage',
    path: '/api/bookings',
    headers: { authorization: 'Bearer garbage' },
    status: 401,
    message: 'Token is malformed',
  },
  {
    name: 'unsigned token (alg none)',
    path: '/api/bookings',
    headers: { authorization: `Bearer ${unsignedToken}` },
    status: 401,
    message: /^Token (algorithm is not accepted|is malformed)/,
  },
  {
    name: 'token of 9000 characters',
    path: '/api/bookings',
    headers: { authorization: `Bearer ${'a'.repeat(9000)}` },
    status: 401,
    message: 'Token is longer than 8192 characters',
  },
  {
    name: 'X-Request-Id with spaces',
    path: '/api/events',
    headers: { 'x-request-id': 'a b c' },
    status: 400,
    message: /^x-request-id must be 1-128 characters/,
  },
  {
    name: 'X-Request-Id of 200 characters',
    path: '/api/events',
    headers: { 'x-request-id': 'r'.repeat(200) },
    status: 400,
    message: /^x-request-id must be 1-128 characters/,
  },
  {
    name: 'Idempotency-Key of 256 characters',
    ...reserve({ event_id: 1, user_id: 'u' }, { headers: { 'idempotency-key': 'k'.repeat(256) } }),
    status: 400,
    message: 'Idempotency-Key must be 1-255 visible ASCII characters',
  },
  {
    name: 'non-ASCII Idempotency-Key',
    ...reserve({ event_id: 1, user_id: 'u' }, { headers: { 'idempotency-key': 'cl\u00e9' } }),
    status: 400,
    message: 'Idempotency-Key must be 1-255 visible ASCII characters',
  },
  {
    name: 'SQL as Booking-Access-Key',
    path: '/api/bookings/1',
    headers: { 'booking-access-key': "' OR 1=1 --" },
    status: 400,
    message: 'Booking-Access-Key must be the 43-character key returned in that header when the booking was made',
  },
  {
    name: 'headers over 16 KiB',
    path: '/api/events',
    headers: { cookie: 'c'.repeat(20_000) },
    raw: true,
    status: 431,
    message: 'Exceeded maximum allowed HTTP header size',
  },
];

describe('hostile input', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Everything a request could have changed: bookings, events (and their last change), their events (a refusal's aside). */
  const writes = async () =>
    (
      await stack.db.query(
        `SELECT (SELECT count(*) FROM bookings) AS bookings, (SELECT count(*) FROM events) AS events,
                (SELECT max(updated_at) FROM events) AS events_changed, (SELECT count(*) FROM outbox WHERE type <> 'booking.failed') AS outbox,
                (SELECT count(*) FROM waitlist) AS waitlist`,
      )
    ).rows[0];

  it.each(HOSTILE.map((c) => [c.name, c] as const))(
    'answers %s with a 4xx saying what is wrong',
    async (_name, hostile) => {
      const method = hostile.method ?? 'GET';
      const path = hostile.path!;
      const before = await writes();
      const response = hostile.raw
        ? await rawHttp(stack.baseUrl, method, path, hostile.headers ?? {}, hostile.body as string | Buffer | undefined)
        : await stack.request(method, path, hostile.body, hostile.headers);
      expect(response.status).toBe(hostile.status);
      expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
      expect(response.body.statusCode).toBe(hostile.status);
      if (typeof hostile.message === 'string') expect(response.body.message).toBe(hostile.message);
      else expect(response.body.message).toMatch(hostile.message);
      expect(await writes()).toEqual(before);
    },
  );

  it('SQL sent as data is stored as data: earlier bookings stay readable and booking still works', async () => {
    const eventId = await stack.db.createEvent(10);
    const before = await stack.reserve({ event_id: eventId, user_id: 'before-the-injections' });
    expect(before.status).toBe(201);
    const injections = ["x'); DROP TABLE bookings; --", "' OR '1'='1", 'u; DELETE FROM events; --'];
    for (const userId of injections) {
      const response = await stack.reserve({ event_id: eventId, user_id: userId });
      expect(response.status).toBe(201);
      expect(response.body.user_id).toBe(userId);
    }
    const read = await stack.request('GET', `/api/bookings/${before.body.id}`, undefined, {
      'booking-access-key': before.headers.get('booking-access-key')!,
    });
    expect(read.status).toBe(200);
    expect(read.body.user_id).toBe('before-the-injections');
    const after = await stack.reserve({ event_id: eventId, user_id: 'after-the-injections' });
    expect(after.status).toBe(201);
    const { rows } = await stack.db.query<{ user_id: string }>(
      'SELECT user_id FROM bookings WHERE event_id = $1 ORDER BY id',
      [eventId],
    );
    expect(rows.map((row) => row.user_id)).toEqual(['before-the-injections', ...injections, 'after-the-injections']);
  });

  it('property: any JSON body gets 201, 400, 404 or 409 — never 5xx — and only valid bodies book', async () => {
    const events = [await stack.db.createEvent(3), await stack.db.createEvent(1), await stack.db.createEvent(50)];
    const eventIdArb = fc.oneof(
      fc.constantFrom(...events, NO_EVENT),
      fc.integer(),
      fc.double(),
      fc.jsonValue({ maxDepth: 1 }),
    );
    const userIdArb = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ minLength: 250, maxLength: 260 }),
      fc.jsonValue({ maxDepth: 1 }),
    );
    const bodyArb = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ event_id: eventIdArb, user_id: userIdArb }, { requiredKeys: [] }),
      fc.record({ event_id: fc.constantFrom(...events), user_id: fc.string({ minLength: 1, maxLength: 12 }) }),
    );
    /** Each booking a 201 told of, as the row's id. */
    const created = new Set<number>();
    const answers: string[] = [];
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const response = await stack.reserve(JSON.stringify(body));
        answers.push(`${response.status} ${JSON.stringify(body)}`);
        expect([201, 400, 404, 409]).toContain(response.status);
        const valid = validate(reserveBookingSchema, body).success;
        if (!valid) expect(response.status).toBe(400);
        if (response.status === 201) created.add(response.body.id);
      }),
      { numRuns: 400 },
    );
    const { rows } = await stack.db.query<{ id: number; event_id: number; user_id: string }>(
      'SELECT id, event_id, user_id FROM bookings WHERE event_id = ANY($1)',
      [events],
    );
    // Every booking of these events is one a 201 told of; the answers say what each request got otherwise.
    const untold = rows.filter((row) => !created.has(row.id));
    expect(untold, `answers:\n${answers.join('\n')}`).toEqual([]);
    expect(created.size).toBeGreaterThan(0);
  });
});
