import { describe, expect, it } from 'vitest';
import {
  bookingEventsStreamEnvSchema,
  ConfigError,
  commonEnvSchema,
  createEventSchema,
  databaseEnvSchema,
  idParamsSchema,
  joinWaitlistBodySchema,
  parseBookingEvent,
  waitlistParamsSchema,
  listBookingsQueryStringSchema,
  loadConfig,
  reserveBookingSchema,
  validate,
} from '../src/index.js';

describe('request validation', () => {
  it('accepts a valid reservation and ignores unknown fields', () => {
    expect(validate(reserveBookingSchema, { event_id: 1, user_id: 'u', extra: true })).toEqual({
      success: true,
      data: { event_id: 1, user_id: 'u' },
    });
  });

  it('keeps a user id exactly as sent (no trimming)', () => {
    expect(validate(reserveBookingSchema, { event_id: 1, user_id: '  padded  ' })).toMatchObject({
      data: { user_id: '  padded  ' },
    });
  });

  it('accepts well-formed Unicode only, and keeps it exactly as sent (no normalisation)', () => {
    for (const userId of ['Jos\u00e9', 'Jose\u0301', '\u{1F39F}', '用户', '\uFFFD', '\u{10FFFF}']) {
      expect(validate(reserveBookingSchema, { event_id: 1, user_id: userId })).toEqual({
        success: true,
        data: { event_id: 1, user_id: userId },
      });
    }
    for (const userId of ['h-sur\ud800', 'h-sur\udbff', '\udc00x', '\udc00\ud800', 'x\ud83c']) {
      expect(validate(reserveBookingSchema, { event_id: 1, user_id: userId })).toEqual({
        success: false,
        message: 'user_id must be well-formed Unicode (it contains a lone surrogate)',
      });
    }
  });

  it('counts the 255-character limit in code points, as PostgreSQL counts varchar(255)', () => {
    const astral = '\u{1F39F}';
    expect(astral.length).toBe(2);
    expect(validate(reserveBookingSchema, { event_id: 1, user_id: astral.repeat(255) }).success).toBe(true);
    expect(validate(createEventSchema, { name: astral.repeat(255), total_seats: 1 }).success).toBe(true);
    for (const text of [astral.repeat(256), 'x'.repeat(256), 'e\u0301'.repeat(128)]) {
      expect(validate(reserveBookingSchema, { event_id: 1, user_id: text })).toEqual({
        success: false,
        message: 'user_id must be at most 255 characters (Unicode code points)',
      });
    }
  });

  it('refuses anything that is not an object', () => {
    for (const input of [null, undefined, 'x', 3, [], [{ event_id: 1 }]]) {
      expect(validate(reserveBookingSchema, input)).toEqual({
        success: false,
        message: 'Request body must be a JSON object',
      });
    }
  });

  it('reads ids from text strictly', () => {
    expect(validate(idParamsSchema, { id: '42' })).toEqual({ success: true, data: { id: 42 } });
    for (const id of ['', '0', '-1', '1e3', ' 1', '0x10', '2147483648', '12345678901']) {
      expect(validate(idParamsSchema, { id }).success, id).toBe(false);
    }
    expect(validate(listBookingsQueryStringSchema, { event_id: '3', user_id: 'u' })).toEqual({
      success: true,
      data: { event_id: 3, user_id: 'u' },
    });
  });

  it('validates events', () => {
    expect(validate(createEventSchema, { name: 'Gig', total_seats: 5 }).success).toBe(true);
    expect(validate(createEventSchema, { name: 'gig \ud83c', total_seats: 5 })).toEqual({
      success: false,
      message: 'name must be well-formed Unicode (it contains a lone surrogate)',
    });
    expect(validate(createEventSchema, { name: 'a\u0000', total_seats: 5 })).toEqual({
      success: false,
      message: 'name must not contain NUL characters',
    });
    expect(validate(createEventSchema, { name: 'x'.repeat(256), total_seats: 5 })).toEqual({
      success: false,
      message: 'name must be at most 255 characters (Unicode code points)',
    });
  });
});

describe('configuration', () => {
  const schema = commonEnvSchema.extend(databaseEnvSchema.shape);

  it('fills local defaults', () => {
    expect(loadConfig(schema, {})).toEqual({
      NODE_ENV: 'development',
      NATS_URL: ['nats://localhost:4222'],
      BOOKING_NAMESPACE: '',
      NATS_REQUEST_TIMEOUT_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/booking_db',
      DATABASE_POOL_SIZE: 10,
      DATABASE_STATEMENT_TIMEOUT_MS: 2_000,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 10_000,
    });
  });

  it('takes a NATS cluster as servers separated by commas', () => {
    expect(loadConfig(schema, { NATS_URL: 'nats://a:4222, nats://b:4222,nats://c:4222' }).NATS_URL).toEqual([
      'nats://a:4222',
      'nats://b:4222',
      'nats://c:4222',
    ]);
    expect(() => loadConfig(schema, { NATS_URL: 'nats://a:4222,,nats://c:4222' })).toThrow(
      /NATS_URL.*must list NATS servers/,
    );
  });

  it('keeps the booking events stream on 1 to 5 NATS nodes', () => {
    expect(loadConfig(bookingEventsStreamEnvSchema, {}).BOOKING_EVENTS_REPLICAS).toBe(1);
    expect(loadConfig(bookingEventsStreamEnvSchema, { BOOKING_EVENTS_REPLICAS: '3' }).BOOKING_EVENTS_REPLICAS).toBe(3);
    for (const bad of ['0', '6', '2.5', 'three']) {
      expect(() => loadConfig(bookingEventsStreamEnvSchema, { BOOKING_EVENTS_REPLICAS: bad })).toThrow(
        /BOOKING_EVENTS_REPLICAS/,
      );
    }
  });

  it('names the bad variable', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'mysql://x', NATS_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(schema, { DATABASE_URL: 'mysql://x' })).toThrow(
      'Invalid configuration: DATABASE_URL: must be a postgresql:// URL',
    );
    expect(() => loadConfig(schema, { NATS_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/NATS_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig(schema, { NODE_ENV: 'staging' })).toThrow(/NODE_ENV/);
  });
});

describe('booking event contract', () => {
  const created = {
    id: 'e1',
    type: 'booking.created',
    occurred_at: '2026-01-01T00:00:00.000Z',
    correlation_id: 'r1',
    data: { booking_id: 1, event_id: 2, user_id: 'u', created_at: '2026-01-01T00:00:00.000Z' },
  };

  it('keeps the booking.created of a reservation as it was, and says when a seat came from the waitlist', () => {
    expect(parseBookingEvent(JSON.stringify(created))).toEqual(created);
    const promoted = { ...created, data: { ...created.data, source: 'waitlist' } };
    expect(parseBookingEvent(JSON.stringify(promoted)).data).toMatchObject({ source: 'waitlist' });
    expect(() =>
      parseBookingEvent(JSON.stringify({ ...created, data: { ...created.data, source: 'psql' } })),
    ).toThrow();
  });

  it('validates a waitlist place by event and user', () => {
    expect(validate(waitlistParamsSchema, { id: '7', user_id: 'ann' })).toEqual({
      success: true,
      data: { id: 7, user_id: 'ann' },
    });
    expect(validate(waitlistParamsSchema, { id: '7', user_id: '' })).toEqual({
      success: false,
      message: 'user_id must not be empty',
    });
    expect(validate(joinWaitlistBodySchema, {})).toEqual({ success: false, message: 'user_id is required' });
  });
});
