import { BookingEventType, BookingSubjects, namesFor, type BookingEvent } from '@booking/shared';
import { jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { ClientNats, NatsRecordBuilder } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatuses, Stack } from '../../api-gateway/test/support/stack.js';

const createdEvents = (events: BookingEvent[]) => events.filter((e) => e.type === BookingEventType.created);
const failedEvents = (events: BookingEvent[]) => events.filter((e) => e.type === BookingEventType.failed);

describe('transactional outbox → JetStream', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A long fallback poll: any prompt publishing below comes from NOTIFY, not from polling.
    stack = await Stack.start({
      inProcessReplicas: 1,
      processReplicas: 1,
      serviceEnv: { OUTBOX_POLL_INTERVAL_MS: '60000' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('N concurrent reservations: one booking.created per booking row, one booking.failed per rejection', async () => {
    const eventId = await stack.db.createEvent(50);
    const requests = [
      ...Array.from({ length: 150 }, (_, i) => ({ event_id: eventId, user_id: `buyer-${i}` })),
      ...Array.from({ length: 20 }, () => ({ event_id: eventId, user_id: 'buyer-0' })), // duplicates
      ...Array.from({ length: 10 }, (_, i) => ({ event_id: 999_999, user_id: `lost-${i}` })), // unknown event
    ];
    const responses = await Promise.all(requests.map((body) => stack.reserve(body)));
    const statuses = countStatuses(responses);
    expect(statuses[201]).toBe(50);
    expect(statuses[404]).toBe(10);
    expect(statuses[409]).toBe(120);
    await stack.outboxDrained();

    const events = (await stack.streamEvents()).map((stored) => stored.event);
    const { rows: bookingRows } = await stack.db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1', [
      eventId,
    ]);
    const created = createdEvents(events).filter((e) => e.data.event_id === eventId);
    expect(created.map((e) => e.data.booking_id).sort((a, b) => a - b)).toEqual(
      bookingRows.map((row) => row.id).sort((a, b) => a - b),
    );
    const winners = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.user_id));
    expect(new Set(created.map((e) => e.data.user_id))).toEqual(winners);

    const failed = failedEvents(events);
    expect(failed).toHaveLength(130);
    const reasons = countBy(failed.map((e) => e.data.reason));
    expect(reasons.event_not_found).toBe(10);
    expect((reasons.sold_out ?? 0) + (reasons.already_booked ?? 0)).toBe(120);
    // The failure message is the one the client got.
    const messages = new Set(responses.filter((r) => r.status !== 201).map((r) => r.body.message));
    for (const event of failed) expect(messages.has(event.data.message)).toBe(true);

    // Ids are unique and envelopes complete.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const event of events) {
      expect(event.correlation_id).not.toBe('');
      expect(Number.isNaN(Date.parse(event.occurred_at))).toBe(false);
    }
  });

  it('the stream captures exactly the event subjects, never the request subjects', async () => {
    const nats = await connect({ servers: stack.nats.url });
    try {
      const info = await (await jetstreamManager(nats)).streams.info(namesFor('').eventsStream);
      expect([...info.config.subjects].sort()).toEqual([
        'booking.cancelled',
        'booking.created',
        'booking.failed',
        'event.updated',
      ]);
    } finally {
      await nats.close();
    }
    const stored = await stack.streamEvents();
    for (const { subject, event } of stored) expect(subject).toBe(event.type);
    expect(stored.some((s) => s.subject === 'booking.reserve' || s.subject === 'event.update')).toBe(false);
  });

  it('stores the request id header (x-request-id) as the correlation id, or generates one', async () => {
    const eventId = await stack.db.createEvent(10);
    const client = new ClientNats({ servers: stack.nats.url });
    await client.connect();
    try {
      const requestHeaders = headers();
      requestHeaders.set('x-request-id', 'req-0123456789');
      const record = new NatsRecordBuilder({ event_id: eventId, user_id: 'traced' }).setHeaders(requestHeaders).build();
      const reply = await firstValueFrom(
        client.send<{ ok: boolean; data: { id: number } }>(BookingSubjects.reserve, record),
      );
      expect(reply.ok).toBe(true);
      const plain = await stack.reserve({ event_id: eventId, user_id: 'untraced' });
      expect(plain.status).toBe(201);
      const { rows } = await stack.db.query<{ booking_id: number; correlation_id: string }>(
        'SELECT booking_id, correlation_id FROM outbox WHERE booking_id = ANY($1)',
        [[reply.data.id, plain.body.id]],
      );
      const byBooking = new Map(rows.map((row) => [row.booking_id, row.correlation_id]));
      expect(byBooking.get(reply.data.id)).toBe('req-0123456789');
      expect(byBooking.get(plain.body.id)).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await client.close();
    }
  });

  it('publishes promptly after the commit (NOTIFY wake-up, the 60 s poll never fires)', async () => {
    const eventId = await stack.db.createEvent(10);
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await stack.reserve({ event_id: eventId, user_id: `prompt-${i}` });
      expect(response.status).toBe(201);
      const started = Date.now();
      await stack.outboxDrained(2_000);
      latencies.push(Date.now() - started);
    }
    const events = (await stack.streamEvents()).map((s) => s.event);
    expect(createdEvents(events).filter((e) => e.data.event_id === eventId)).toHaveLength(5);
    console.info(`outbox commit → published: ${latencies.join(', ')} ms`);
    expect(Math.max(...latencies)).toBeLessThan(2_000);
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
