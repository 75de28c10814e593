import { setTimeout as sleep } from 'node:timers/promises';
import { BookingEventType } from '@booking/shared';
import { waitUntil, type TestDatabase } from '@booking/testing';
import { expect } from 'vitest';
import type { Stack } from '../support/stack.js';

/** One reservation as its client saw it. */
export interface Answer {
  user: string;
  status: number;
  /** `"unknown"` on a 504 for a command (the booking may or may not exist). */
  outcome?: string;
  message?: string;
  sentAt: number;
  answeredAt: number;
}

/**
 * Reservations from many clients at once, each for a new user, until stopped:
 * the load a fault is injected under. Every answer is kept with its times, so
 * that the test can check what clients were told against the rows, and measure
 * how long the system took to book again after a fault ended.
 */
export class ReservationLoad {
  readonly answers: Answer[] = [];
  private running = true;
  private next = 0;
  private readonly workers: Promise<void>[];

  constructor(
    private readonly url: () => string,
    private readonly eventId: number,
    private readonly prefix: string,
    clients = 16,
    private readonly pauseMs = 40,
    /** Headers of each request (e.g. a new Idempotency-Key). */
    private readonly headers: () => Record<string, string> = () => ({}),
  ) {
    this.workers = Array.from({ length: clients }, () => this.work());
  }

  private async work(): Promise<void> {
    while (this.running) {
      const user = `${this.prefix}-${this.next++}`;
      const sentAt = Date.now();
      let answer: Answer;
      try {
        const response = await fetch(`${this.url()}/api/bookings/reserve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.headers() },
          body: JSON.stringify({ event_id: this.eventId, user_id: user }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await response.json().catch(() => ({}))) as { outcome?: string; message?: string };
        answer = {
          user,
          status: response.status,
          outcome: body.outcome,
          message: body.message,
          sentAt,
          answeredAt: Date.now(),
        };
      } catch {
        // The gateway itself was unreachable (restarting): no answer at all, so the outcome is unknown.
        answer = { user, status: 0, sentAt, answeredAt: Date.now() };
      }
      this.answers.push(answer);
      await sleep(this.pauseMs);
    }
  }

  count(status: number, since = 0): number {
    return this.answers.filter((answer) => answer.status === status && answer.sentAt >= since).length;
  }

  /** Waits until `count` more bookings were answered 201 (sent after `since`), or fails after `timeoutMs`. */
  async booked(count: number, since: number, timeoutMs: number, what: string): Promise<void> {
    await waitUntil(async () => this.count(201, since) >= count, timeoutMs, what);
  }

  /** Milliseconds from `since` until the first 201 answered for a request sent after it. */
  recoveredAfter(since: number): number {
    const first = this.answers
      .filter((a) => a.status === 201 && a.sentAt >= since)
      .sort((a, b) => a.answeredAt - b.answeredAt)[0];
    if (!first) throw new Error('no booking since the fault ended');
    return first.answeredAt - since;
  }

  async stop(): Promise<Answer[]> {
    this.running = false;
    await Promise.all(this.workers);
    return this.answers;
  }

  statuses(): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const { status } of this.answers) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }
}

/**
 * What every fault must leave true, checked against the rows: every 201 has its
 * booking; a 503 (or 500, or 409) has none; a 504 says the outcome is unknown
 * and may have one; no booking exists that its client was not told of as booked
 * or unknown; the seat counter equals the bookings and never passes capacity;
 * and each booking has exactly one `booking.created` on the stream. With
 * `soldOut`, the event must be full, and its 409s (sold out) are expected.
 */
export async function expectTruthfulOutcomes(
  stack: Pick<Stack, 'db' | 'outboxDrained' | 'streamEvents'>,
  eventId: number,
  answers: readonly Answer[],
  { soldOut = false }: { soldOut?: boolean } = {},
): Promise<void> {
  const rows = (
    await stack.db.query<{ id: number; user_id: string }>('SELECT id, user_id FROM bookings WHERE event_id = $1', [
      eventId,
    ])
  ).rows;
  const booked = new Set(rows.map((row) => row.user_id));
  const byUser = new Map(answers.map((answer) => [answer.user, answer]));
  expect(answers.filter((a) => a.status === 201 && !booked.has(a.user))).toEqual([]);
  expect(answers.filter((a) => a.status !== 201 && a.status !== 504 && a.status !== 0 && booked.has(a.user))).toEqual(
    [],
  );
  expect(answers.filter((a) => a.status === 504 && a.outcome !== 'unknown')).toEqual([]);
  const expected = soldOut ? [201, 409, 503, 504] : [201, 503, 504];
  expect(answers.filter((a) => !expected.includes(a.status) && a.status !== 0)).toEqual([]);
  expect(rows.filter((row) => !byUser.has(row.user_id))).toEqual([]);

  const event = await stack.db.query<{ booked_seats: number; total_seats: number }>(
    'SELECT booked_seats, total_seats FROM events WHERE id = $1',
    [eventId],
  );
  expect(event.rows[0]!.booked_seats).toBe(rows.length);
  expect(rows.length).toBeLessThanOrEqual(event.rows[0]!.total_seats);
  if (soldOut) expect(rows.length).toBe(event.rows[0]!.total_seats);

  await stack.outboxDrained(30_000);
  const created = (await stack.streamEvents())
    .map((stored) => stored.event)
    .filter((event) => event.type === BookingEventType.created && event.data.event_id === eventId)
    .map((event) => (event.type === BookingEventType.created ? event.data.booking_id : 0));
  expect(created.sort((a, b) => a - b)).toEqual(rows.map((row) => row.id).sort((a, b) => a - b));
}

/** From the first failed request's sending to the last one's answer; `startMs` counts from `since`. */
export function errorWindow(failed: readonly Answer[], since: number): { startMs: number; durationMs: number } {
  if (failed.length === 0) return { startMs: 0, durationMs: 0 };
  const start = Math.min(...failed.map((answer) => answer.sentAt));
  const end = Math.max(...failed.map((answer) => answer.answeredAt));
  return { startMs: start - since, durationMs: end - start };
}

/**
 * Nothing left stuck in PostgreSQL by the services: no session idle inside a
 * transaction and none running a statement, past the limits that should have
 * ended them (waits that long first).
 */
export async function expectNothingStuck(db: TestDatabase, withinMs: number): Promise<void> {
  const stuck = async () =>
    (
      await db.query<{ pid: number; state: string; query: string }>(
        `SELECT pid, state, left(query, 80) AS query FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'test'
            AND (state LIKE 'idle in transaction%' OR (state = 'active' AND query NOT ILIKE 'LISTEN%'))
            AND state_change < now() - interval '500 milliseconds'`,
      )
    ).rows;
  await waitUntil(async () => (await stuck()).length === 0, withinMs, 'sessions left stuck in PostgreSQL').catch(
    async (error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(await stuck())}`);
    },
  );
}
