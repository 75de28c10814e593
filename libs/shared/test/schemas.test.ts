import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  commonEnvSchema,
  createEventSchema,
  databaseEnvSchema,
  idParamsSchema,
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
    expect(validate(createEventSchema, { name: 'a\u0000', total_seats: 5 })).toEqual({
      success: false,
      message: 'name must not contain NUL characters',
    });
    expect(validate(createEventSchema, { name: 'x'.repeat(256), total_seats: 5 })).toEqual({
      success: false,
      message: 'name must be at most 255 characters',
    });
  });
});

describe('configuration', () => {
  const schema = commonEnvSchema.extend(databaseEnvSchema.shape);

  it('fills local defaults', () => {
    expect(loadConfig(schema, {})).toEqual({
      NODE_ENV: 'development',
      NATS_URL: 'nats://localhost:4222',
      NATS_REQUEST_TIMEOUT_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/booking_db',
      DATABASE_POOL_SIZE: 10,
      DATABASE_STATEMENT_TIMEOUT_MS: 2_000,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 10_000,
    });
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
