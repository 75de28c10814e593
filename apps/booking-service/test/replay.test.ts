import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, Stack } from '../../api-gateway/test/support/stack.js';
import { compareBookingCounts, rebuildBookingCounts } from '../src/replay/booking-counts.js';
import { readBookingEvents } from '../src/replay/read-booking-events.js';
import { formatReport, parseSince, replayBookingEvents } from '../src/replay/replay.js';

const REPLAY_CLI = fileURLToPath(new URL('../dist/replay/cli.js', import.meta.url));

describe('events replay', () => {
  let stack: Stack;
  let nats: NatsConnection;
  let eventIds: number[];
  let midpoint: Date;

  beforeAll(async () => {
    // In a namespace: the replay reads that deployment's stream (BOOKING_EVENTS_replay), as its services wrote it.
    stack = await Stack.start({ inProcessReplicas: 1, namespace: 'replay' });
    nats = await connect({ servers: stack.nats.url });
    // A populated stream: concurrent reservations over several events, rejections, cancellations.
    eventIds = [await stack.db.createEvent(15), await stack.db.createEvent(40), await stack.db.createEvent(5)];
    const reserve = (round: string) =>
      Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          stack.reserve({ event_id: eventIds[i % 3]!, user_id: `${round}-${i % 50}` }),
        ),
      );
    const first = await reserve('r1');
    const toCancel = first.filter((r) => r.status === 201).slice(0, 12);
    await Promise.all(toCancel.map((r) => stack.cancel(r.body.id, accessKeyOf(r))));
    // An organiser's change is on the stream too, and books or frees nothing.
    const raised = await stack.request(
      'PATCH',
      `/api/events/${eventIds[0]}`,
      { total_seats: 20 },
      {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      },
    );
    expect(raised.status).toBe(200);
    await stack.outboxDrained();
    await new Promise((resolve) => setTimeout(resolve, 20));
    midpoint = new Date();
    const second = await reserve('r2');
    const more = second.filter((r) => r.status === 201).slice(0, 3);
    await Promise.all(more.map((r) => stack.cancel(r.body.id, accessKeyOf(r))));
    await stack.outboxDrained();
  });
  afterAll(async () => {
    await nats?.close();
    await stack?.stop();
  });

  it('replaying the whole stream rebuilds exactly the booking counts in PostgreSQL', async () => {
    const report = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
    expect(report.stream).toBe('BOOKING_EVENTS_replay');
    const { rows } = await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM bookings');
    expect(report.replayed.created - report.replayed.cancelled).toBe(Number(rows[0]!.n));
    expect(report.replayed.cancelled).toBe(15);
    expect(report.replayed.failed).toBeGreaterThan(0);
    expect(report.replayed.eventUpdated).toBe(1);
    const { created, cancelled, failed, eventUpdated } = report.replayed;
    expect(report.replayed.total).toBe(created + cancelled + failed + eventUpdated);
    expect(report).toMatchObject({ matches: true, mismatches: [], comparedWith: 'bookings', unpublished: 0 });
    expect(report.eventsCompared).toBe(3);
    expect(formatReport(report)).toContain('Booking counts match PostgreSQL (bookings) for all 3 events.');
    expect(formatReport(report)).toMatch(/^Stream BOOKING_EVENTS_replay: oldest event stored /);
    expect(formatReport(report)).toMatch(/\nReplayed \d+ events from the start of the stream/);
    expect(formatReport(report)).toContain(', event updates 1)');
  });

  it('--since replays only the later events and matches the same window of the outbox', async () => {
    const report = await replayBookingEvents(nats, stack.db.connection.pool, {
      stream: stack.names.eventsStream,
      since: midpoint,
    });
    expect(report.comparedWith).toBe('outbox');
    expect(report.replayed.cancelled).toBe(3);
    expect(report.matches).toBe(true);
    const full = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
    expect(report.replayed.total).toBeLessThan(full.replayed.total);
  });

  it('reports a booking changed behind the outbox’s back as a mismatch', async () => {
    const { rows } = await stack.db.query<{ id: number; event_id: number }>(
      'SELECT id, event_id FROM bookings ORDER BY id LIMIT 1',
    );
    await stack.db.query('DELETE FROM bookings WHERE id = $1', [rows[0]!.id]);
    const report = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
    expect(report.matches).toBe(false);
    expect(report.mismatches).toHaveLength(1);
    expect(report.mismatches[0]!.event_id).toBe(rows[0]!.event_id);
    expect(report.mismatches[0]!.replayed - report.mismatches[0]!.database).toBe(1);
    expect(formatReport(report)).toContain(`event ${rows[0]!.event_id}: replayed`);

    // The command: exit code 1 on a mismatch, and it names the event.
    const run = promisify(execFile);
    const env = { ...process.env, ...stack.serviceEnv };
    const failure = await run(process.execPath, [REPLAY_CLI], { env }).catch(
      (error: { code: number; stdout: string }) => error,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stdout: string }).stdout).toContain('DIFFER');
    const windowed = await run(process.execPath, [REPLAY_CLI, '--since', midpoint.toISOString(), '--json'], { env });
    expect(JSON.parse(windowed.stdout)).toMatchObject({
      stream: 'BOOKING_EVENTS_replay',
      matches: true,
      comparedWith: 'outbox',
    });
    const bad = await run(process.execPath, [REPLAY_CLI, '--since', 'yesterday'], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--since "yesterday"');
  });

  it('once events have left the stream and the outbox, compares only from the horizon and says so', async () => {
    const whole = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
    expect(whole.horizon).toMatchObject({ from: null, stream: { firstSeq: 1 } });
    expect(formatReport(whole)).toContain('the whole history is checkable');

    // The events before the midpoint leave the stream (as its limits drop them) and the outbox (as its retention does).
    const { events } = await readBookingEvents(nats, { stream: stack.names.eventsStream, since: midpoint });
    const firstKept = events[0]!.seq;
    await (await jetstreamManager(nats)).streams.purge(stack.names.eventsStream, { seq: firstKept });
    await stack.db.query('DELETE FROM outbox WHERE occurred_at < $1', [midpoint]);

    const report = await replayBookingEvents(nats, stack.db.connection.pool, { stream: stack.names.eventsStream });
    const { rows } = await stack.db.query<{ occurred_at: Date }>(
      'SELECT occurred_at FROM outbox ORDER BY position LIMIT 1',
    );
    expect(report.horizon.stream?.firstSeq).toBe(firstKept);
    expect(report.horizon.outbox?.oldest).toBe(rows[0]!.occurred_at.toISOString());
    const from = new Date(report.horizon.from!);
    expect(from.getTime()).toBeGreaterThan(new Date(report.horizon.stream!.oldest).getTime());
    expect(from.getTime()).toBeGreaterThanOrEqual(rows[0]!.occurred_at.getTime());
    // The booking deleted behind the outbox's back (before the midpoint) is beyond the horizon now.
    expect(report).toMatchObject({ since: report.horizon.from, comparedWith: 'outbox', matches: true });
    expect(report.replayed.cancelled).toBe(3);
    expect(formatReport(report)).toContain(
      `Horizon ${report.horizon.from}: differences older than that are not checkable`,
    );

    // A window reaching further back starts at the horizon.
    const early = await replayBookingEvents(nats, stack.db.connection.pool, {
      stream: stack.names.eventsStream,
      since: new Date(0),
    });
    expect(early.since).toBe(report.horizon.from);

    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [REPLAY_CLI], { env: { ...process.env, ...stack.serviceEnv } });
    expect(stdout).toContain(
      `Stream ${stack.names.eventsStream}: oldest event stored ${report.horizon.stream!.oldest} (seq ${firstKept})`,
    );
    expect(stdout).toContain(`outbox: oldest row ${report.horizon.outbox!.oldest}`);
    expect(stdout).toContain('not checkable');
  });
});

describe('replay building blocks', () => {
  it('parseSince takes an ISO time or an age', () => {
    const now = new Date('2026-01-31T12:00:00.000Z');
    expect(parseSince('2026-01-30T00:00:00Z', now).toISOString()).toBe('2026-01-30T00:00:00.000Z');
    expect(parseSince('90s', now).toISOString()).toBe('2026-01-31T11:58:30.000Z');
    expect(parseSince('15m', now).toISOString()).toBe('2026-01-31T11:45:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-01-31T10:00:00.000Z');
    expect(parseSince('7d', now).toISOString()).toBe('2026-01-24T12:00:00.000Z');
    expect(() => parseSince('soon', now)).toThrow(/neither an ISO time/);
  });

  it('counts fold created +1 and cancelled -1; failed changes nothing', () => {
    const envelope = { occurred_at: '2026-01-01T00:00:00.000Z', correlation_id: 'c' };
    const counts = rebuildBookingCounts([
      {
        ...envelope,
        id: '1',
        type: 'booking.created',
        data: { booking_id: 1, event_id: 7, user_id: 'a', created_at: '' },
      },
      {
        ...envelope,
        id: '2',
        type: 'booking.created',
        data: { booking_id: 2, event_id: 7, user_id: 'b', created_at: '' },
      },
      {
        ...envelope,
        id: '3',
        type: 'booking.cancelled',
        data: { booking_id: 1, event_id: 7, user_id: 'a', cancelled_at: '' },
      },
      {
        ...envelope,
        id: '4',
        type: 'booking.failed',
        data: { event_id: 8, user_id: 'c', reason: 'sold_out', message: '' },
      },
    ]);
    expect([...counts]).toEqual([[7, 1]]);
    expect(compareBookingCounts(counts, new Map([[7, 1]]))).toEqual([]);
    expect(compareBookingCounts(counts, new Map([[9, 2]]))).toEqual([
      { event_id: 7, replayed: 1, database: 0 },
      { event_id: 9, replayed: 0, database: 2 },
    ]);
  });
});
