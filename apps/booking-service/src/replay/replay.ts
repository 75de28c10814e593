import { BookingEventType } from '@booking/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import type pg from 'pg';
import { compareBookingCounts, countBookingEvent, type BookingCounts, type CountMismatch } from './booking-counts.js';
import { scanBookingEvents, type StreamWindow } from './read-booking-events.js';

export interface ReplayReport {
  stream: string;
  since: string | null;
  replayed: { total: number; created: number; cancelled: number; failed: number; malformed: number };
  /** What the rebuilt counts were compared with: the bookings table (full replay) or the outbox since `since`. */
  comparedWith: 'bookings' | 'outbox';
  eventsCompared: number;
  mismatches: CountMismatch[];
  /** Outbox rows not published yet: a mismatch may only be the relay catching up. */
  unpublished: number;
  matches: boolean;
}

/**
 * Rebuilds per-event booking counts from the deployment's stream and checks them against
 * PostgreSQL. Without `since` the whole stream is replayed and compared with
 * the bookings table itself. With `since`, only events that occurred from then
 * on are replayed (net change per event), compared with the same window of the
 * outbox, which commits with the bookings and so is PostgreSQL's own record.
 */
export async function replayBookingEvents(
  nats: NatsConnection,
  pool: pg.Pool,
  { stream, since }: StreamWindow,
): Promise<ReplayReport> {
  const replayed: BookingCounts = new Map();
  const byType = { [BookingEventType.created]: 0, [BookingEventType.cancelled]: 0, [BookingEventType.failed]: 0 };
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
  return {
    stream,
    since: since?.toISOString() ?? null,
    replayed: { total: created + cancelled + failed, created, cancelled, failed, malformed },
    comparedWith: since ? 'outbox' : 'bookings',
    eventsCompared: new Set([...replayed.keys(), ...database.keys()]).size,
    mismatches,
    unpublished: Number(rows[0]!.n),
    matches: mismatches.length === 0,
  };
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
  const lines = [
    `Replayed ${replayed.total} events of ${report.stream} ${report.since ? `since ${report.since}` : 'from its start'}` +
      ` (created ${replayed.created}, cancelled ${replayed.cancelled}, failed ${replayed.failed}` +
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
