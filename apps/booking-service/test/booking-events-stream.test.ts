import { PrivateNatsServer, waitUntil } from '@booking/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOKING_EVENTS_DUPLICATE_WINDOW_MS,
  bookingEventsStreamEnvSchema,
  bookingEventsStreamLimits,
  ensureBookingEventsStream,
  namesFor,
} from '@booking/shared';

const NAMES = namesFor('');

describe('booking events stream limits', () => {
  let server: PrivateNatsServer;
  let nats: NatsConnection;

  beforeAll(async () => {
    server = await PrivateNatsServer.start();
    nats = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nats?.close();
    await server?.dispose();
  });

  const streamInfo = async () => (await jetstreamManager(nats)).streams.info(NAMES.eventsStream);

  it('a new stream gets the default limits: events kept 3 days, no size limit', async () => {
    await ensureBookingEventsStream(nats, NAMES);
    const { config } = await streamInfo();
    expect(config.max_age).toBe(nanos(3 * 86_400_000));
    expect(config.max_bytes).toBe(-1);
    expect(config.duplicate_window).toBe(nanos(BOOKING_EVENTS_DUPLICATE_WINDOW_MS));
  });

  it('an existing stream takes new limits, and events older than max_age leave it', async () => {
    const js = jetstream(nats);
    await js.publish('booking.created', '{}');
    await js.publish('booking.created', '{}');
    expect((await streamInfo()).state.messages).toBe(2);

    await ensureBookingEventsStream(nats, NAMES, { maxAgeMs: 1_000, maxBytes: 1_000_000, replicas: 1 });
    const { config } = await streamInfo();
    expect(config).toMatchObject({ max_age: nanos(1_000), max_bytes: 1_000_000 });
    // JetStream refuses a duplicate window longer than max_age.
    expect(config.duplicate_window).toBe(nanos(1_000));
    await waitUntil(async () => (await streamInfo()).state.messages === 0, 10_000, 'the events to expire');
    expect((await streamInfo()).state.first_seq).toBe(3);

    // 0 lifts the limits again.
    await ensureBookingEventsStream(nats, NAMES, { maxAgeMs: 0, maxBytes: 0, replicas: 1 });
    expect((await streamInfo()).config).toMatchObject({ max_age: 0, max_bytes: -1 });
  });

  it('the limits are read from BOOKING_EVENTS_MAX_AGE, BOOKING_EVENTS_MAX_BYTES and BOOKING_EVENTS_REPLICAS', () => {
    const config = bookingEventsStreamEnvSchema.parse({
      BOOKING_EVENTS_MAX_AGE: '12h',
      BOOKING_EVENTS_MAX_BYTES: '1024',
      BOOKING_EVENTS_REPLICAS: '3',
    });
    expect(bookingEventsStreamLimits(config)).toEqual({ maxAgeMs: 12 * 3_600_000, maxBytes: 1024, replicas: 3 });
    expect(bookingEventsStreamEnvSchema.safeParse({ BOOKING_EVENTS_MAX_AGE: '-1d' }).success).toBe(false);
    expect(bookingEventsStreamEnvSchema.safeParse({ BOOKING_EVENTS_MAX_BYTES: '-1' }).success).toBe(false);
  });
});
