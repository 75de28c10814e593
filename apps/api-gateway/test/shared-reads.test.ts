import { setTimeout as sleep } from 'node:timers/promises';
import { BookingSubjects, ok } from '@booking/shared';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookingClient } from '../src/booking-client/booking-client.js';
import { countStatuses, respondAsBookingService, Stack } from './support/stack.js';

/** Identical reads in flight share one booking-service lookup; a write answered by this gateway is always seen. */
describe('shared reads', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const client = () => stack.gateway.get(BookingClient);
  const seatsLeft = async (eventId: number): Promise<number> => {
    const response = await stack.request('GET', `/api/events/${eventId}`);
    expect(response.status).toBe(200);
    return response.body.available_seats as number;
  };

  it('a crowd reading one event gets the right answer from fewer lookups', async () => {
    const eventId = await stack.db.createEvent(40);
    const shareBefore = client().counters.sharedReads;
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => stack.request('GET', `/api/events/${eventId}`)),
    );
    expect(countStatuses(responses)).toEqual({ 200: 200 });
    for (const response of responses) {
      expect(response.body).toMatchObject({ id: eventId, total_seats: 40, available_seats: 40 });
    }
    expect(client().counters.sharedReads - shareBefore).toBeGreaterThan(0);
  });

  it('a crowd reading an unknown event all get 404', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => stack.request('GET', '/api/events/987654')));
    expect(countStatuses(responses)).toEqual({ 404: 50 });
    expect(responses[0]!.body.message).toBe(responses[49]!.body.message);
  });

  it('while others keep reading, each answered reservation shows in the next read', async () => {
    const eventId = await stack.db.createEvent(30);
    let reading = true;
    const readers = Array.from({ length: 20 }, async () => {
      while (reading) await stack.request('GET', `/api/events/${eventId}`);
    });
    try {
      for (let booked = 1; booked <= 30; booked++) {
        const reserved = await stack.reserve({ event_id: eventId, user_id: `reader-writer-${booked}` });
        expect(reserved.status).toBe(201);
        expect(await seatsLeft(eventId)).toBe(30 - booked);
      }
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(client().counters.sharedReads).toBeGreaterThan(0);
  });
});

/**
 * The same rule made deterministic: a scripted booking service whose lookups
 * are slow, so a read that joined a lookup begun before a write would see the
 * old figure.
 */
describe('shared reads and writes, against a slow scripted booking service', () => {
  const LOOKUP_MS = 300;
  let stack: Stack;
  let script: NatsConnection;
  let seatsLeft = 10;
  let lookups = 0;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0 });
    script = await connect({ servers: stack.nats.url });
    script.subscribe(BookingSubjects.getEvent, {
      callback: (_error, message) => {
        lookups++;
        const view = { id: 1, name: 'scripted', total_seats: 10, available_seats: seatsLeft };
        void sleep(LOOKUP_MS).then(() => respondAsBookingService(message, ok(view)));
      },
    });
    script.subscribe(BookingSubjects.reserve, {
      callback: (_error, message) => {
        seatsLeft--;
        respondAsBookingService(
          message,
          ok({ id: 10 - seatsLeft, event_id: 1, user_id: 'writer', status: 'confirmed' }),
        );
      },
    });
    await script.flush();
  });
  afterAll(async () => {
    await script?.close();
    await stack?.stop();
  });

  it('reads arriving together share one lookup', async () => {
    const before = lookups;
    const responses = await Promise.all(Array.from({ length: 10 }, () => stack.request('GET', '/api/events/1')));
    expect(countStatuses(responses)).toEqual({ 200: 10 });
    expect(lookups - before).toBe(1);
  });

  it('a read after an answered write does not join a lookup begun before it', async () => {
    const early = stack.request('GET', '/api/events/1');
    await sleep(50); // the early lookup is now in flight, with the old figure
    const reserved = await stack.reserve({ event_id: 1, user_id: 'writer' });
    expect(reserved.status).toBe(201);
    const late = await stack.request('GET', '/api/events/1');
    expect((await early).body.available_seats).toBe(seatsLeft + 1);
    expect(late.body.available_seats).toBe(seatsLeft);
  });
});
