import { BookingSubjects, ErrorCode, type ServiceReply } from '@booking/shared';
import { PrivateNatsServer, TestDatabase } from '@booking/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBookingService } from '../src/app.js';
import { loadBookingServiceConfig } from '../src/config.js';

/** Every subject's payload is checked against its contract before its handler runs (real NATS, PostgreSQL). */
describe('payload validation', () => {
  let db: TestDatabase;
  let server: PrivateNatsServer;
  let service: INestApplication;
  let nats: NatsConnection;

  beforeAll(async () => {
    [db, server] = await Promise.all([TestDatabase.create(), PrivateNatsServer.start()]);
    const config = loadBookingServiceConfig({
      NATS_URL: server.url,
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '3',
      NODE_ENV: 'test',
      BOOKING_SERVICE_PORT: '0',
    });
    service = await startBookingService(config, { logger: false });
    nats = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nats?.close();
    await service?.close();
    await server?.stop();
    await db?.drop();
  });

  /** Sends a message as the gateway does (Nest's packet) and returns the reply. */
  async function request(subject: string, data: unknown): Promise<ServiceReply<unknown>> {
    const message = await nats.request(subject, JSON.stringify({ pattern: subject, data, id: '1' }), {
      timeout: 5_000,
    });
    return message.json<{ response: ServiceReply<unknown> }>().response;
  }

  const rejectedCount = async (subject: string): Promise<number> => {
    const text = await (await fetch(`${await service.getUrl()}/metrics`)).text();
    const line = new RegExp(
      `^nats_handler_duration_seconds_count\\{[^}]*subject="${subject.replaceAll('.', '\\.')}"[^}]*outcome="rejected"[^}]*\\} (\\S+)$`,
      'm',
    ).exec(text);
    return Number(line?.[1] ?? 0);
  };

  it.each([
    [BookingSubjects.reserve, { event_id: '1', user_id: 'a' }, 'event_id must be a number'],
    [BookingSubjects.reserve, 'not an object', 'Request body must be a JSON object'],
    [BookingSubjects.cancel, { id: 0 }, 'id must be a positive integer'],
    [BookingSubjects.getBooking, {}, 'id is required'],
    [BookingSubjects.bookingHistory, { id: 1.5 }, 'id must be an integer'],
    [BookingSubjects.listBookings, { user_id: '' }, 'user_id must not be empty'],
    [BookingSubjects.createEvent, { name: 'x', total_seats: 0 }, 'total_seats must be at least 1'],
    [BookingSubjects.getEvent, [1], 'Request body must be a JSON object'],
    [BookingSubjects.seatsLeft, { ids: [] }, 'ids must name at least one event'],
  ])('%s %j → VALIDATION "%s", counted as refused', async (subject, payload, message) => {
    const before = await rejectedCount(subject);
    expect(await request(subject, payload)).toEqual({ ok: false, error: { code: ErrorCode.Validation, message } });
    expect(await rejectedCount(subject)).toBe(before + 1);
  });

  it('hands a valid payload to its handler', async () => {
    const eventId = await db.createEvent(3);
    expect(await request(BookingSubjects.getEvent, { id: eventId })).toMatchObject({
      ok: true,
      data: { id: eventId, total_seats: 3 },
    });
    expect(await request(BookingSubjects.listBookings, { event_id: eventId })).toEqual({ ok: true, data: [] });
  });
});
