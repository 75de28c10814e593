import type { BookingView, CancelledBookingView, ReserveBookingCommand } from '@booking/shared';
import { describe, expect, it } from 'vitest';
import { bookingKey, type RejectionFacts } from '../src/booking/reservation-rules.js';
import { LOST_RACE, type BatchFacts, type LostRace, type ReservationStore } from '../src/booking/reservation-store.js';
import { Reservations, type ReserveOutcome } from '../src/booking/reservations.js';
import { ALWAYS_OPEN, type EventSales } from '../src/booking/sales-window.js';
import type { FailedEvent } from '../src/outbox/outbox-events.js';

/**
 * The bookings in memory, with the database's rules (capacity, one booking per
 * user and event, all-or-nothing batches). Records which statement each call
 * stands for, so that tests can tell which write path a batch took.
 */
class InMemoryStore implements ReservationStore {
  readonly seats = new Map<number, number>();
  readonly bookings: (BookingView & { correlationId: string })[] = [];
  readonly failures: FailedEvent[] = [];
  readonly statements: string[] = [];
  /** Events whose sales have closed: the database refuses their bookings, as the seat-counter trigger does. */
  readonly closed = new Set<number>();
  /** Set to make the next write fail as a concurrent writer would make it. */
  loseNextRaces = 0;
  failRefusalWrites = false;
  private nextId = 1;

  addEvent(id: number, seats: number) {
    this.seats.set(id, seats);
  }

  /** A booking another replica made, unseen by the reservations under test. */
  bookElsewhere(eventId: number, userId: string) {
    this.insert([{ event_id: eventId, user_id: userId }], ['elsewhere']);
  }

  async reserveOne(
    command: ReserveBookingCommand,
    correlationId: string,
  ): Promise<{ booking: BookingView } | { refused: RejectionFacts }> {
    this.statements.push('reserveOne');
    const left = this.seats.get(command.event_id);
    const alreadyBooked = this.booked(command.event_id, command.user_id);
    const sales = this.salesOf(command.event_id);
    if (left === undefined || left <= 0 || alreadyBooked || sales.state !== 'open') {
      return { refused: { eventExists: left !== undefined, alreadyBooked, seatAvailable: (left ?? 0) > 0, sales } };
    }
    if (this.loseRace()) return { refused: { violated: 'one_booking_per_user' } };
    return { booking: this.insert([command], [correlationId])[0]! };
  }

  async readBatchFacts(commands: readonly ReserveBookingCommand[], eventIds: readonly number[]): Promise<BatchFacts> {
    this.statements.push('read');
    return this.facts(commands, eventIds);
  }

  async writeBatch(
    winners: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    failures: readonly FailedEvent[],
  ): Promise<BookingView[] | LostRace> {
    this.statements.push('write');
    return this.writeAll(winners, correlationIds, failures);
  }

  async writeFailuresIfSoldOut(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    failures: readonly FailedEvent[],
  ): Promise<{ written: true } | { written: false; facts: BatchFacts }> {
    this.statements.push('writeFailuresIfSoldOut');
    const facts = this.facts(commands, eventIds);
    const soldOut = eventIds.every((id) => facts.seatsLeft.get(id) === 0) && facts.booked.size === 0;
    if (!soldOut) return { written: false, facts };
    this.failures.push(...failures);
    return { written: true };
  }

  async writeBatchLocked(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    decide: Parameters<ReservationStore['writeBatchLocked']>[2],
  ): Promise<BookingView[] | LostRace> {
    this.statements.push('locked');
    const { winners, winnerCorrelationIds, failures } = decide(this.facts(commands, eventIds));
    return this.writeAll(winners, winnerCorrelationIds, failures);
  }

  async writeFailures(failures: readonly FailedEvent[]): Promise<void> {
    this.statements.push('writeFailures');
    if (this.failRefusalWrites) throw new Error('outbox unavailable');
    this.failures.push(...failures);
  }

  async bookingMadeBy(command: ReserveBookingCommand, correlationId: string): Promise<BookingView | undefined> {
    this.statements.push('bookingMadeBy');
    if (correlationId === 'unreadable') throw new Error('lookup failed');
    const found = this.bookings.find(
      (b) => b.event_id === command.event_id && b.user_id === command.user_id && b.correlationId === correlationId,
    );
    return found && view(found);
  }

  readonly cancellations = new Map<number, CancelledBookingView & { correlationId: string }>();

  async cancel(id: number, correlationId: string): Promise<CancelledBookingView | undefined> {
    const index = this.bookings.findIndex((b) => b.id === id);
    if (index < 0) return undefined;
    const [booking] = this.bookings.splice(index, 1);
    this.seats.set(booking!.event_id, this.seats.get(booking!.event_id)! + 1);
    const cancelled = { ...view(booking!), cancelled_at: new Date().toISOString() };
    this.cancellations.set(id, { ...cancelled, correlationId });
    return cancelled;
  }

  async cancellationBy(id: number, correlationId: string): Promise<CancelledBookingView | undefined> {
    const cancelled = this.cancellations.get(id);
    if (cancelled?.correlationId !== correlationId) return undefined;
    return { ...view(cancelled), cancelled_at: cancelled.cancelled_at };
  }

  private booked(eventId: number, userId: string): boolean {
    return this.bookings.some((b) => b.event_id === eventId && b.user_id === userId);
  }

  private facts(commands: readonly ReserveBookingCommand[], eventIds: readonly number[]): BatchFacts {
    const seatsLeft = new Map<number, number>();
    for (const id of eventIds) if (this.seats.has(id)) seatsLeft.set(id, this.seats.get(id)!);
    const booked = new Set(
      commands.filter((c) => this.booked(c.event_id, c.user_id)).map((c) => bookingKey(c.event_id, c.user_id)),
    );
    return { seatsLeft, booked, sales: new Map([...seatsLeft.keys()].map((id) => [id, this.salesOf(id)])) };
  }

  private salesOf(eventId: number): EventSales {
    // Closed long ago: a guess on any clock says so too.
    return this.closed.has(eventId) ? { state: 'closed', window: { opensAt: null, closesAt: 0 } } : ALWAYS_OPEN;
  }

  private loseRace(): boolean {
    if (this.loseNextRaces === 0) return false;
    this.loseNextRaces--;
    return true;
  }

  /** All or nothing, as one statement: a booking past capacity, twice, or of no event loses the race. */
  private writeAll(
    winners: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    failures: readonly FailedEvent[],
  ): BookingView[] | LostRace {
    const seats = new Map(this.seats);
    const keys = new Set<string>();
    for (const w of winners) {
      const left = seats.get(w.event_id);
      const key = bookingKey(w.event_id, w.user_id);
      if (left === undefined || left <= 0 || keys.has(key) || this.booked(w.event_id, w.user_id)) return LOST_RACE;
      if (this.closed.has(w.event_id)) return LOST_RACE;
      seats.set(w.event_id, left - 1);
      keys.add(key);
    }
    if (this.loseRace()) return LOST_RACE;
    this.failures.push(...failures);
    return this.insert(winners, correlationIds);
  }

  private insert(commands: readonly ReserveBookingCommand[], correlationIds: readonly string[]): BookingView[] {
    return commands.map((command, i) => {
      this.seats.set(command.event_id, this.seats.get(command.event_id)! - 1);
      const booking = { ...view({ ...command, id: this.nextId++, created_at: '' }), correlationId: correlationIds[i]! };
      this.bookings.push(booking);
      return view(booking);
    });
  }
}

const view = ({ id, event_id, user_id, created_at }: BookingView): BookingView => ({
  id,
  event_id,
  user_id,
  created_at: created_at || '2026-01-01T00:00:00.000Z',
});

const LATER = Number.MAX_SAFE_INTEGER;
const warnings: string[] = [];
const setUp = (...events: [number, number][]) => {
  const store = new InMemoryStore();
  for (const [id, seats] of events) store.addEvent(id, seats);
  return { store, reservations: new Reservations(store, { warn: (message) => warnings.push(message) }) };
};
const users = (eventId: number, ...userIds: string[]) => userIds.map((user_id) => ({ event_id: eventId, user_id }));
const ids = (count: number, tag = 'r') => Array.from({ length: count }, (_, i) => `${tag}-${i}`);
const outcomes = (results: ReserveOutcome[]) =>
  results.map((r) => ('booking' in r ? r.booking.user_id : 'rejection' in r ? r.rejection.reason : 'error'));

describe('Reservations, one at a time', () => {
  it('books, then refuses with the reason the facts give, recording a booking.failed event per refusal', async () => {
    const { store, reservations } = setUp([1, 1]);
    expect(await reservations.reserve({ event_id: 1, user_id: 'a' }, 'c-1', LATER)).toMatchObject({
      booking: { event_id: 1, user_id: 'a' },
    });
    expect(await reservations.reserve({ event_id: 1, user_id: 'a' }, 'c-2', LATER)).toEqual({
      rejection: { reason: 'already_booked' },
    });
    expect(await reservations.reserve({ event_id: 1, user_id: 'b' }, 'c-3', LATER)).toEqual({
      rejection: { reason: 'sold_out' },
    });
    expect(await reservations.reserve({ event_id: 2, user_id: 'b' }, 'c-4', LATER)).toEqual({
      rejection: { reason: 'event_not_found' },
    });
    expect(store.failures.map((f) => [f.correlationId, f.data.reason, f.data.message])).toEqual([
      ['c-2', 'already_booked', 'User a already booked for event 1'],
      ['c-3', 'sold_out', 'No available seats for event 1'],
      ['c-4', 'event_not_found', 'Event 2 not found'],
    ]);
  });

  it('takes the reason from the rule that refused the write when the snapshot allowed it', async () => {
    const { store, reservations } = setUp([1, 5]);
    store.loseNextRaces = 1;
    expect(await reservations.reserve({ event_id: 1, user_id: 'a' }, 'c', LATER)).toEqual({
      rejection: { reason: 'already_booked' },
    });
  });

  it('still answers a refusal whose event could not be written, and says so in the log', async () => {
    const { store, reservations } = setUp([1, 0]);
    store.failRefusalWrites = true;
    warnings.length = 0;
    expect(await reservations.reserve({ event_id: 1, user_id: 'a' }, 'c', LATER)).toEqual({
      rejection: { reason: 'sold_out' },
    });
    expect(warnings).toEqual(['booking.failed event not recorded: outbox unavailable']);
  });

  it('gives a retry the booking its earlier request made, and only that one', async () => {
    const { reservations } = setUp([1, 5]);
    const made = await reservations.reserve({ event_id: 1, user_id: 'a' }, 'first', LATER);
    expect(await reservations.reserve({ event_id: 1, user_id: 'a', retry_of: 'first' }, 'second', LATER)).toEqual(made);
    expect(await reservations.reserve({ event_id: 1, user_id: 'a', retry_of: 'other' }, 'third', LATER)).toEqual({
      rejection: { reason: 'already_booked' },
    });
  });
});

describe('Reservations, in batches', () => {
  it('reads an event it has not seen, then writes its next batch without reading', async () => {
    const { store, reservations } = setUp([1, 10]);
    expect(outcomes(await reservations.reserveMany(users(1, 'a', 'b'), ids(2), LATER))).toEqual(['a', 'b']);
    expect(store.statements).toEqual(['read', 'write']);
    store.statements.length = 0;
    expect(outcomes(await reservations.reserveMany(users(1, 'c', 'c', 'd'), ids(3), LATER))).toEqual([
      'c',
      'already_booked',
      'd',
    ]);
    expect(store.statements).toEqual(['write']);
  });

  it('refuses a batch for an event it saw sold out in one statement', async () => {
    const { store, reservations } = setUp([1, 1]);
    await reservations.reserveMany(users(1, 'a', 'b'), ids(2), LATER);
    store.statements.length = 0;
    expect(outcomes(await reservations.reserveMany(users(1, 'c', 'd'), ids(2, 'late'), LATER))).toEqual([
      'sold_out',
      'sold_out',
    ]);
    expect(store.statements).toEqual(['writeFailuresIfSoldOut']);
    expect(store.failures.filter((f) => f.correlationId.startsWith('late'))).toHaveLength(2);
  });

  it('decides on what it read when the sold-out guess no longer holds (a seat was freed)', async () => {
    const { store, reservations } = setUp([1, 1]);
    const [first] = await reservations.reserveMany(users(1, 'a', 'b'), ids(2), LATER);
    await reservations.cancel('booking' in first! ? first.booking.id : 0, 'cancel', LATER);
    store.statements.length = 0;
    expect(outcomes(await reservations.reserveMany(users(1, 'c', 'd'), ids(2), LATER))).toEqual(['c', 'sold_out']);
    // The read showed one seat for two buyers: that refusal needs the events' locks.
    expect(store.statements).toEqual(['writeFailuresIfSoldOut', 'locked']);
  });

  it('answers right when what it last saw is out of date: the unread write loses, a read decides', async () => {
    const { store, reservations } = setUp([1, 4]);
    await reservations.reserveMany(users(1, 'a', 'b'), ids(2), LATER);
    store.bookElsewhere(1, 'x');
    store.bookElsewhere(1, 'y');
    store.statements.length = 0;
    expect(outcomes(await reservations.reserveMany(users(1, 'x', 'c'), ids(2), LATER))).toEqual([
      'already_booked',
      'sold_out',
    ]);
    expect(store.statements).toEqual(['write', 'read', 'write']);
  });

  it('never writes a booking of an event whose sales closed since it was last seen, nor tries once it knows', async () => {
    const { store, reservations } = setUp([1, 10]);
    await reservations.reserveMany(users(1, 'a', 'b'), ids(2), LATER);
    store.closed.add(1);
    store.statements.length = 0;
    // What it last saw says "on sale": the unread write is refused (the trigger), a read decides.
    expect(outcomes(await reservations.reserveMany(users(1, 'c', 'd', 'a'), ids(3, 'closed'), LATER))).toEqual([
      'sales_closed',
      'sales_closed',
      'already_booked',
    ]);
    expect(store.statements).toEqual(['write', 'read', 'write']);
    expect(store.bookings.map((b) => b.user_id)).toEqual(['a', 'b']);
    expect(store.failures.filter((f) => f.correlationId.startsWith('closed')).map((f) => f.data.message)).toEqual([
      'Sales for event 1 have closed',
      'Sales for event 1 have closed',
      'User a already booked for event 1',
    ]);
    // Now it remembers the window: the next batch reads first, with no doomed write.
    store.statements.length = 0;
    expect(outcomes(await reservations.reserveMany(users(1, 'e', 'f'), ids(2, 'later'), LATER))).toEqual([
      'sales_closed',
      'sales_closed',
    ]);
    expect(store.statements).toEqual(['read', 'write']);
  });

  it('decides again under locks when the batch used up the last seats, and one by one when even that loses', async () => {
    const { store, reservations } = setUp([1, 2]);
    store.loseNextRaces = 1;
    expect(outcomes(await reservations.reserveMany(users(1, 'a', 'b', 'c'), ids(3), LATER))).toEqual([
      'a',
      'b',
      'sold_out',
    ]);
    expect(store.statements).toEqual(['read', 'locked', 'reserveOne', 'reserveOne', 'reserveOne', 'writeFailures']);
  });

  it('keeps each answer its own: a retry whose lookup fails errs alone', async () => {
    const { store, reservations } = setUp([1, 5]);
    await reservations.reserveMany(users(1, 'a', 'b'), ['first-a', 'first-b'], LATER);
    const results = await reservations.reserveMany(
      [
        { event_id: 1, user_id: 'a', retry_of: 'first-a' },
        { event_id: 1, user_id: 'b', retry_of: 'unreadable' },
        { event_id: 1, user_id: 'c' },
      ],
      ids(3, 'retry'),
      LATER,
    );
    expect(outcomes(results)).toEqual(['a', 'error', 'c']);
    expect(store.bookings.filter((b) => b.user_id === 'a')).toHaveLength(1);
  });

  it('never books past capacity whatever order replicas and cancellations come in', async () => {
    const { store, reservations } = setUp([1, 3], [2, 1]);
    const other = new Reservations(store, { warn: () => undefined });
    for (let round = 0; round < 6; round++) {
      const replica = round % 2 === 0 ? reservations : other;
      await replica.reserveMany(
        [...users(1, `u${round}`, `v${round}`), ...users(2, `u${round}`)],
        ids(3, `round${round}`),
        LATER,
      );
      if (round === 2) await replica.cancel(store.bookings[0]!.id, 'cancel', LATER);
    }
    expect(store.bookings.filter((b) => b.event_id === 1)).toHaveLength(3);
    expect(store.bookings.filter((b) => b.event_id === 2)).toHaveLength(1);
    expect(new Set(store.bookings.map((b) => bookingKey(b.event_id, b.user_id))).size).toBe(store.bookings.length);
  });
});

describe('Reservations, cancelling', () => {
  it('gives a retried cancellation the cancellation its earlier request made', async () => {
    const { store, reservations } = setUp([1, 5]);
    await reservations.reserve({ event_id: 1, user_id: 'a' }, 'c', LATER);
    const id = store.bookings[0]!.id;
    const cancelled = await reservations.cancel(id, 'first', LATER);
    expect(cancelled).toMatchObject({ id, user_id: 'a' });
    expect(await reservations.cancel(id, 'second', LATER, 'first')).toEqual(cancelled);
    expect(await reservations.cancel(id, 'third', LATER, 'other')).toBeUndefined();
    expect(await reservations.cancel(id, 'fourth', LATER)).toBeUndefined();
  });
});
