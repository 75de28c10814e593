import { BookingEventType } from '@booking/shared';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type pg from 'pg';
import { compareBookingCounts, countBookingEvent, type BookingCounts, type CountMismatch } from './booking-counts.js';
import { scanBookingEvents, type StreamWindow } from './read-booking-events.js';

/**
 * How far back the two records reach: the stream drops events older than its max_age, the outbox rows
 * older than OUTBOX_RETENTION. Before `from` one of them is incomplete, so a difference there cannot be
 * told from retention; null when the whole history is present (the stream has lost no event).
 */
export interface ReplayHorizon {
  /** When the oldest event still on the stream was stored, and its sequence number; null for an empty stream. */
  stream: { oldest: string; firstSeq: number } | null;
  /** When the outbox's first row (lowest position) occurred; null for an empty outbox. */
  outbox: { oldest: string } | null;
  /** The start of the compared window: the later of the two, or null when nothing was ever dropped from the stream. */
  from: string | null;
}

export interface ReplayReport {
  stream: string;
  /** The start of the compared window: `--since`, moved up to the horizon if earlier. */
  since: string | null;
  horizon: ReplayHorizon;
  /** Events replayed by type; `eventUpdated` (organisers' changes) counts toward no booking. */
  replayed: {
    total: number;
    created: number;
    cancelled: number;
    failed: number;
    eventUpdated: number;
    malformed: number;
  };
  /** What the rebuilt counts were compared with: the bookings table (full replay) or the outbox since `since`. */
  comparedWith: 'bookings' | 'outbox';
  eventsCompared: number;
  mismatches: CountMismatch[];
  /** Outbox rows not published yet: a mismatch may only be the relay catching up. */
  unpublished: number;
  matches: boolean;
}

/**
 * Rebuilds per-event booking counts from the deployment's stream and checks
 * them against PostgreSQL. While the stream still holds every event it ever
 * took in and no `since` is given, the whole stream is replayed and compared
 * with the bookings table itself. Otherwise only events that occurred from a start time
 * on are replayed (net change per event), compared with the same window of the
 * outbox, which commits with the bookings and so is PostgreSQL's own record;
 * that start is `since`, or the horizon (where both the stream and the outbox
 * are complete) when it is later.
 */
export async function replayBookingEvents(
  nats: NatsConnection,
  pool: pg.Pool,
  { stream, since: requestedSince }: StreamWindow,
): Promise<ReplayReport> {
  const horizon = await replayHorizon(nats, pool, stream);
  // A window must lie where both records are whole (with `since`, the outbox must cover it too).
  const since = latest([
    requestedSince,
    horizon.from ?? undefined,
    requestedSince ? horizon.outbox?.oldest : undefined,
  ]);
  const replayed: BookingCounts = new Map();
  const byType: Record<BookingEventType, number> = {
    [BookingEventType.created]: 0,
    [BookingEventType.cancelled]: 0,
    [BookingEventType.failed]: 0,
    [BookingEventType.eventUpdated]: 0,
  };
  // Folded as they arrive: a long stream is never held in memory.
  const { malformed } = await scanBookingEvents(nats, { stream, since }, ({ event }) => {
    if (since && new Date(event.occurred_at) < since) return;
    byType[event.type] += 1;
    countBookingEvent(replayed, event);
  });
  const database = since ? await outboxCounts(pool, since) : await bookingsCounts(pool);
  const mismatches = compareBookingCounts(replayed, database);
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox_pending');
  const created = byType[BookingEventType.created];
  const cancelled = byType[BookingEventType.cancelled];
  const failed = byType[BookingEventType.failed];
  const eventUpdated = byType[BookingEventType.eventUpdated];
  return {
    stream,
    since: since?.toISOString() ?? null,
    horizon,
    replayed: {
      total: created + cancelled + failed + eventUpdated,
      created,
      cancelled,
      failed,
      eventUpdated,
      malformed,
    },
    comparedWith: since ? 'outbox' : 'bookings',
    eventsCompared: new Set([...replayed.keys(), ...database.keys()]).size,
    mismatches,
    unpublished: Number(rows[0]!.n),
    matches: mismatches.length === 0,
  };
}

/** Where the stream and the outbox begin (stream info, and one read of the outbox's position index). */
export async function replayHorizon(nats: NatsConnection, pool: pg.Pool, streamName: string): Promise<ReplayHorizon> {
  const { state } = await (await jetstreamManager(nats)).streams.info(streamName);
  const { rows } = await pool.query<{ occurred_at: Date }>('SELECT occurred_at FROM outbox ORDER BY position LIMIT 1');
  const stream =
    state.messages > 0 ? { oldest: new Date(state.first_ts).toISOString(), firstSeq: state.first_seq } : null;
  const outbox = rows[0] ? { oldest: rows[0].occurred_at.toISOString() } : null;
  // Sequence numbers start at 1 and never go back: a first one above 1 means events have left the stream.
  // The comparison then starts where both records are whole; on a stream emptied by its limits, now.
  // JetStream's times have nanoseconds; a Date keeps milliseconds, so the stream's start is rounded up.
  const streamStart = stream ? new Date(new Date(stream.oldest).getTime() + 1) : new Date();
  const from = state.first_seq > 1 ? latest([streamStart, outbox?.oldest]) : undefined;
  return { stream, outbox, from: from?.toISOString() ?? null };
}

function latest(times: (Date | string | undefined)[]): Date | undefined {
  const dates = times.filter((time) => time !== undefined).map((time) => new Date(time));
  return dates.length === 0 ? undefined : new Date(Math.max(...dates.map((date) => date.getTime())));
}

async function bookingsCounts(pool: pg.Pool): Promise<BookingCounts> {
  const { rows } = await pool.query<{ event_id: number; n: string }>(
    'SELECT event_id, count(*) AS n FROM bookings GROUP BY event_id',
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.n)]));
}

async function outboxCounts(pool: pg.Pool, since: Date): Promise<BookingCounts> {
  const { rows } = await pool.query<{ event_id: number; n: string }>(
    `SELECT event_id, sum(CASE type WHEN $2 THEN 1 ELSE -1 END) AS n FROM outbox
      WHERE occurred_at >= $1 AND type IN ($2, $3) GROUP BY event_id`,
    [since, BookingEventType.created, BookingEventType.cancelled],
  );
  return new Map(rows.filter((row) => Number(row.n) !== 0).map((row) => [row.event_id, Number(row.n)]));
}

/** `--since` as an ISO time ("2026-01-31T12:00:00Z") or an age ("90s", "15m", "2h", "7d"). */
export function parseSince(value: string, now = new Date()): Date {
  const age = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (age) {
    const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(age[1]) * unitMs);
  }
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new Error(`--since "${value}" is neither an ISO time (2026-01-31T12:00:00Z) nor an age (90s, 15m, 2h, 7d)`);
  }
  return time;
}

export function formatReport(report: ReplayReport): string {
  const { replayed } = report;
  const { horizon } = report;
  const lines = [
    `Stream ${report.stream}: ${horizon.stream ? `oldest event stored ${horizon.stream.oldest} (seq ${horizon.stream.firstSeq})` : 'empty'}; ` +
      `outbox: ${horizon.outbox ? `oldest row ${horizon.outbox.oldest}` : 'empty'}.`,
    horizon.from
      ? `Horizon ${horizon.from}: differences older than that are not checkable (retention removed them from the stream or the outbox).`
      : 'The stream holds every event it took in: the whole history is checkable.',
    `Replayed ${replayed.total} events ${report.since ? `since ${report.since}` : 'from the start of the stream'}` +
      ` (created ${replayed.created}, cancelled ${replayed.cancelled}, failed ${replayed.failed}` +
      `, event updates ${replayed.eventUpdated}` +
      `${replayed.malformed ? `, malformed ${replayed.malformed}` : ''}).`,
  ];
  if (report.matches) {
    lines.push(`Booking counts match PostgreSQL (${report.comparedWith}) for all ${report.eventsCompared} events.`);
  } else {
    lines.push(
      `Booking counts DIFFER from PostgreSQL (${report.comparedWith}) for ${report.mismatches.length} events:`,
    );
    for (const m of report.mismatches)
      lines.push(`  event ${m.event_id}: replayed ${m.replayed}, database ${m.database}`);
  }
  if (report.unpublished > 0) lines.push(`${report.unpublished} outbox rows are not published yet.`);
  return lines.join('\n');
}
