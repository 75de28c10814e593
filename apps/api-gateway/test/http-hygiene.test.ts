import { BookingSubjects } from '@booking/shared';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS } from '../src/common/security-headers.js';
import { respondAsBookingService, Stack } from './support/stack.js';

describe('HTTP hygiene', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('sends the API security headers and a request id on every API response, errors included', async () => {
    for (const path of ['/api/events', '/api/events/1', '/api/nowhere', '/api/bookings/abc']) {
      const response = await stack.request('GET', path);
      for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
        expect(response.headers.get(name), `${path} ${name}`).toBe(value);
      }
      expect(response.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-request-id'), path).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get('x-powered-by'), path).toBeNull();
      // Meaningful only to an HTML document.
      expect(response.headers.get('cross-origin-opener-policy'), path).toBeNull();
      expect(response.headers.get('x-xss-protection'), path).toBeNull();
    }
  });

  it("sends helmet's page headers, with a policy for the page's own scripts, on the web app and the API docs", async () => {
    for (const path of ['/', '/events/3', '/api/docs', '/api/docs/openapi.json', '/health/live', '/nowhere']) {
      const response = await stack.request('GET', path);
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(response.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(response.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(response.headers.get('x-request-id'), path).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('allows only the configured CORS origins', async () => {
    const preflight = (origin: string) =>
      stack.request('OPTIONS', '/api/bookings/reserve', undefined, {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key,booking-access-key',
      });
    const allowed = await preflight('https://app.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('booking-access-key');
    // A page on the allowed origin can read the key its reservation returns.
    const eventId = await stack.db.createEvent(1);
    const booked = await stack.reserve({ event_id: eventId, user_id: 'cors' }, { origin: 'https://app.example' });
    expect(booked.headers.get('access-control-expose-headers')).toContain('booking-access-key');
    // An organiser's page may change events and read the paging headers.
    const patchPreflight = await stack.request('OPTIONS', '/api/events/1', undefined, {
      origin: 'https://app.example',
      'access-control-request-method': 'PATCH',
    });
    expect(patchPreflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    const paged = await stack.request('GET', '/api/events?limit=1', undefined, { origin: 'https://app.example' });
    expect(paged.headers.get('access-control-expose-headers')).toContain('next-cursor');
    const foreign = await preflight('https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves an OpenAPI document covering every route, body, response, error and the bearer scheme', async () => {
    const ui = await stack.request('GET', '/api/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger-ui');
    const { status, body: doc } = await stack.request('GET', '/api/docs/openapi.json');
    expect(status).toBe(200);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/bookings',
        '/api/bookings/reserve',
        '/api/bookings/{id}',
        '/api/bookings/{id}/history',
        '/api/events',
        '/api/events/live',
        '/api/events/{id}',
        '/api/events/{id}/bookings',
        '/api/events/{id}/close-sales',
        '/api/events/{id}/waitlist',
        '/api/events/{id}/waitlist/{user_id}',
        '/api/events/{id}/queue',
        '/api/events/{id}/queue/admission',
        '/api/events/{id}/queue/stream',
        '/api/events/{id}/waiting-room',
        '/api/me',
        '/health/live',
        '/health/ready',
      ].sort(),
    );
    const reserveOp = doc.paths['/api/bookings/reserve'].post;
    const reserveSchema = reserveOp.requestBody.content['application/json'].schema;
    expect(reserveSchema.required.sort()).toEqual(['event_id', 'user_id']);
    expect(reserveSchema.properties.event_id).toMatchObject({ type: 'integer', maximum: 2147483647 });
    expect(reserveSchema.properties.user_id).toMatchObject({ type: 'string', maxLength: 255 });
    expect(Object.keys(reserveOp.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '422',
      '429',
      '503',
      '504',
    ]);
    expect(JSON.stringify(reserveOp.responses['201'])).toContain('Booking');
    expect(JSON.stringify(reserveOp.responses['409'])).toContain('Error');
    expect(reserveOp.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    expect(Object.keys(reserveOp.responses['201'].headers)).toEqual(['Booking-Access-Key']);
    // The booking's own routes take a bearer token or that key.
    expect(doc.components.securitySchemes.bookingAccessKey).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Booking-Access-Key',
    });
    for (const [path, method] of [
      ['/api/bookings/{id}', 'get'],
      ['/api/bookings/{id}', 'delete'],
      ['/api/bookings/{id}/history', 'get'],
    ] as const) {
      const op = doc.paths[path][method];
      expect(op.security, `${method} ${path}`).toEqual(
        expect.arrayContaining([{ bearer: [] }, { bookingAccessKey: [] }]),
      );
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403', '404']));
    }
    expect(doc.paths['/api/bookings'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/bookings/{id}'].get.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]),
    );
    expect(doc.paths['/api/bookings'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'event_id',
      'user_id',
    ]);
    expect(doc.paths['/api/events'].post.requestBody.content['application/json'].schema.required.sort()).toEqual([
      'name',
      'total_seats',
    ]);
    expect(doc.components.schemas.Error.required.sort()).toEqual(['error', 'message', 'statusCode']);
    expect(doc.components.schemas.Event.properties).toHaveProperty('available_seats');
    const cancelOp = doc.paths['/api/bookings/{id}'].delete;
    expect(Object.keys(cancelOp.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404', '422']));
    expect(cancelOp.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    expect(doc.components.schemas).toHaveProperty('BookingHistory');
    // Bookings and event creation take the bearer token; health and the catalogue are public.
    expect(reserveOp.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/events'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/events'].get.security).toBeUndefined();
    // The event lookup answers conditionally: If-None-Match in, 304 out.
    const lookupOp = doc.paths['/api/events/{id}'].get;
    expect(lookupOp.parameters).toEqual([
      { name: 'id', required: true, in: 'path', schema: { type: 'string', pattern: '^\\d{1,10}$' } },
      {
        name: 'If-None-Match',
        required: false,
        in: 'header',
        description: expect.any(String),
        schema: { type: 'string' },
      },
    ]);
    expect(Object.keys(lookupOp.responses).sort()).toEqual(['200', '304', '400', '404', '429', '503', '504']);
    expect(lookupOp.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Event',
    });
    expect(lookupOp.security).toBeUndefined();
    expect(doc.paths['/health/live'].get.security).toBeUndefined();
    // The organiser's tools: admin routes, with their conflicts and the CSV export.
    const changeOp = doc.paths['/api/events/{id}'].patch;
    expect(changeOp.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(changeOp.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']));
    expect(Object.keys(changeOp.requestBody.content['application/json'].schema.properties).sort()).toEqual([
      'description',
      'name',
      'sales_close_at',
      'sales_open_at',
      'starts_at',
      'total_seats',
      'venue',
    ]);
    expect(doc.paths['/api/events/{id}/close-sales'].post.security).toEqual([{ bearer: [] }]);
    const bookingsOp = doc.paths['/api/events/{id}/bookings'].get;
    expect(Object.keys(bookingsOp.responses['200'].content).sort()).toEqual(['application/json', 'text/csv']);
    expect(Object.keys(bookingsOp.responses['200'].headers).sort()).toEqual(['Link', 'Next-Cursor']);
    // The waitlist: join with a body naming the user, a place read and left by event and user.
    const joinOp = doc.paths['/api/events/{id}/waitlist'].post;
    expect(joinOp.requestBody.content['application/json'].schema.required).toEqual(['user_id']);
    expect(Object.keys(joinOp.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '404', '409', '422', '429']),
    );
    expect(joinOp.responses['201'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/WaitlistEntry',
    });
    expect(doc.components.schemas.WaitlistEntry.required.sort()).toEqual([
      'event_id',
      'joined_at',
      'position',
      'user_id',
    ]);
    const placeOps = doc.paths['/api/events/{id}/waitlist/{user_id}'];
    expect(Object.keys(placeOps.get.responses)).toEqual(expect.arrayContaining(['200', '400', '403', '404']));
    expect(Object.keys(placeOps.delete.responses)).toEqual(expect.arrayContaining(['204', '400', '403', '404']));
    expect(placeOps.delete.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['id', 'user_id', 'Idempotency-Key']),
    );
    // The list pages with parameters, and keeps its plain form.
    const listOp = doc.paths['/api/events'].get;
    expect(listOp.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['If-None-Match', 'cursor', 'limit', 'on_sale', 'sold_out', 'upcoming'].sort(),
    );
    expect(Object.keys(listOp.responses['200'].headers).sort()).toEqual(['Link', 'Next-Cursor']);
    expect(Object.keys(doc.components.schemas.Event.properties)).toEqual(
      expect.arrayContaining(['starts_at', 'venue', 'description', 'sales_open_at', 'sales_close_at']),
    );
    // The waiting room: the organiser's switch (admin), the queue, and the token the reservation takes.
    const room = doc.paths['/api/events/{id}/waiting-room'];
    expect(room.put.security).toEqual([{ bearer: [] }]);
    expect(room.delete.security).toEqual([{ bearer: [] }]);
    expect(room.get.security).toBeUndefined();
    expect(Object.keys(room.put.requestBody.content['application/json'].schema.properties).sort()).toEqual([
      'admissions_per_second',
      'booking_p99_target_ms',
      'join_opens_before_s',
      'max_admissions_per_second',
    ]);
    expect(room.get.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/WaitingRoom',
    });
    const queueJoinOp = doc.paths['/api/events/{id}/queue'].post;
    expect(queueJoinOp.requestBody.content['application/json'].schema.required).toEqual(['user_id']);
    expect(JSON.stringify(queueJoinOp.responses['200'])).toContain('QueueTicket');
    expect(Object.keys(queueJoinOp.responses)).toEqual(expect.arrayContaining(['400', '403', '404', '409']));
    expect(JSON.stringify(doc.paths['/api/events/{id}/queue/admission'].post.responses['200'])).toContain(
      'QueueStatus',
    );
    const streamOp = doc.paths['/api/events/{id}/queue/stream'].get;
    expect(streamOp.security).toBeUndefined();
    expect(streamOp.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['id', 'ticket']);
    expect(reserveOp.parameters.map((p: { name: string }) => p.name)).toContain('Admission-Token');
    const meOp = doc.paths['/api/me'].get;
    expect(meOp.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(meOp.responses).sort()).toEqual(['200', '401', '429', '503']);
    expect(doc.components.schemas.Identity.required.sort()).toEqual(['roles', 'sub']);
  });
});

describe('internal errors', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('never shows a client internal messages or stack traces', async () => {
    // A misbehaving responder: one error reply leaking internals, one reply of the wrong shape.
    const rogue = await connect({ servers: stack.nats.url });
    const answer = (subject: string, response: unknown) =>
      rogue.subscribe(subject, {
        queue: 'booking-service',
        callback: (_error, message) => respondAsBookingService(message, response),
      });
    answer(BookingSubjects.listEvents, {
      ok: false,
      error: { code: 'INTERNAL', message: 'relation "x" at /srv/app.js:12' },
    });
    answer(BookingSubjects.getEvent, 'not a reply envelope');
    await rogue.flush();
    try {
      for (const path of ['/api/events', '/api/events/1']) {
        const response = await stack.request('GET', path);
        expect(response.status, path).toBe(500);
        expect(response.body, path).toEqual({
          message: 'Internal server error',
          error: 'Internal Server Error',
          statusCode: 500,
        });
      }
    } finally {
      await rogue.close();
    }
  });
});
