import type { CancelledBookingView, ReserveBookingCommand, ReserveCommand } from '@booking/shared';
import {
  allocateSeats,
  allSoldOut,
  answersOf,
  failedData,
  failedEvents,
  rejectionFor,
  seatsLeftAfter,
  winnersOf,
  writableBeforeReading,
  writableWithoutLocks,
  type Allocation,
  type Rejection,
  type ReserveResult,
} from './reservation-rules.js';
import { LOST_RACE, type BatchFacts, type LostRace, type ReservationStore } from './reservation-store.js';
import { salesStateAt, type EventSales, type SalesWindow } from './sales-window.js';

export type { ReserveResult } from './reservation-rules.js';
/** One reservation's outcome in a batch whose requests were, in the end, written one by one. */
export type ReserveOutcome = ReserveResult | { error: unknown };

/** A lost `booking.failed` event is logged, not failed: the caller still gets its answer. */
export interface WarningLog {
  warn(message: string): void;
}

const NO_BOOKINGS: ReadonlySet<string> = new Set();
/** Past this many events, the seats last seen are forgotten (all of them) and the next batches read. */
const MAX_REMEMBERED_EVENTS = 10_000;

/**
 * Reservations and cancellations: which write path a batch takes, the seats
 * this replica last saw, the fallbacks when a concurrent writer got there
 * first, and a retried request's own outcome. Knows nothing of Nest, NATS or
 * SQL; every statement is the store's.
 */
export class Reservations {
  /**
   * Seats left per event as this replica last saw them, less what it has
   * booked since. Only ever a guess: other replicas book and cancel too, so
   * it decides whether a batch is tried before reading, never an answer.
   */
  private readonly lastSeatsLeft = new Map<number, number>();
  /**
   * The sales window of each event in `lastSeatsLeft`, as last read, so that
   * a batch for an event not on sale by this machine's clock is not written
   * unread only to be refused by the database. A guess too: whatever it says,
   * the window is checked again where the booking is inserted.
   */
  private readonly lastWindows = new Map<number, SalesWindow>();

  constructor(
    private readonly store: ReservationStore,
    private readonly log: WarningLog,
  ) {}

  /**
   * One reservation, one statement. A retry (`retry_of`) that finds the
   * user's booking gets it if the request it retries made it, rather than
   * "already booked" for the caller's own seat.
   */
  async reserve(command: ReserveCommand, correlationId: string, startBy: number): Promise<ReserveResult> {
    return this.ownBookingIfRetry(command, await this.reserveOne(command, correlationId, startBy));
  }

  /**
   * Many reservations, decided together and written by one statement: the
   * winners' bookings, a `booking.created` event per winner and a
   * `booking.failed` event per refusal, all or nothing. `correlationIds[i]`
   * belongs to `commands[i]`.
   *
   * A batch that books in full on the seats and sales windows this replica
   * last saw is written at once, without a read (the database checks both as
   * it inserts: a seat gone or a window closed meanwhile fails the write). A batch it would refuse in full for want of
   * seats is read and written in one statement, if that statement's snapshot
   * agrees. Any other batch, or one a constraint or that snapshot refused, is
   * decided on a read without locks, then written in a statement of its own
   * when that read alone justifies its refusals. A batch that read does not
   * justify, or whose write lost a race, is decided again under the events'
   * row locks; if even that write loses, each request is reserved on its own.
   */
  async reserveMany(
    commands: readonly ReserveCommand[],
    correlationIds: readonly string[],
    startBy: number,
  ): Promise<ReserveOutcome[]> {
    const outcomes = await this.decideAndWrite(commands, correlationIds, startBy);
    for (const [i, outcome] of outcomes.entries()) {
      // Each on its own: a lookup that fails must not take its neighbours' answers with it.
      if (isRetryOfOwnBooking(commands[i]!, outcome)) {
        outcomes[i] = await this.ownBookingIfRetry(commands[i]!, outcome).catch((error: unknown) => ({ error }));
      }
    }
    return outcomes;
  }

  /** Cancels booking `id`; a retry (`retryOf`) of a cancellation that happened gets that cancellation. */
  async cancel(
    id: number,
    correlationId: string,
    startBy: number,
    retryOf?: string,
  ): Promise<CancelledBookingView | undefined> {
    const cancelled = await this.store.cancel(id, correlationId, startBy);
    if (cancelled || retryOf === undefined) return cancelled;
    return this.store.cancellationBy(id, retryOf);
  }

  private async ownBookingIfRetry(command: ReserveCommand, result: ReserveResult): Promise<ReserveResult> {
    if (!isRetryOfOwnBooking(command, result)) return result;
    const own = await this.store.bookingMadeBy(command, command.retry_of!);
    return own ? { booking: own } : result;
  }

  private async reserveOne(
    command: ReserveBookingCommand,
    correlationId: string,
    startBy: number,
  ): Promise<ReserveResult> {
    const result = await this.store.reserveOne(command, correlationId, startBy);
    if ('booking' in result) return result;
    const rejection = rejectionFor(result.refused);
    await this.recordFailure(command, rejection, correlationId);
    return { rejection };
  }

  /**
   * `booking.failed`: a rejection changes no booking, so there is nothing to be
   * atomic with; the event is written on its own, after the rejection is
   * known, and goes through the same relay (durable once written). If even that
   * write fails, the caller still gets its rejection and the event is lost (logged).
   */
  private async recordFailure(command: ReserveBookingCommand, rejection: Rejection, correlationId: string) {
    try {
      await this.store.writeFailures([{ correlationId, data: failedData(command, rejection) }]);
    } catch (error) {
      this.log.warn(`booking.failed event not recorded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** `reserveMany` before retries are given their own bookings. */
  private async decideAndWrite(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    startBy: number,
  ): Promise<ReserveOutcome[]> {
    const eventIds = distinctEventIds(commands);
    const lastSeen = new Map<number, number>();
    const guessedSales = new Map<number, EventSales>();
    const now = Date.now();
    for (const eventId of eventIds) {
      const left = this.lastSeatsLeft.get(eventId);
      const window = this.lastWindows.get(eventId);
      if (left === undefined || window === undefined) continue;
      lastSeen.set(eventId, left);
      guessedSales.set(eventId, { state: salesStateAt(window, now), window });
    }
    const unread = allocateSeats(commands, lastSeen, NO_BOOKINGS, guessedSales);
    if (writableBeforeReading(unread)) {
      // Taken before the write, so that batches in flight at the same time do not count the same seats.
      this.remember(commands, unread, lastSeen);
      const written = await this.writeBatch(commands, correlationIds, unread, startBy);
      if (written !== LOST_RACE) return written;
    }
    let facts: BatchFacts;
    if (allSoldOut(unread)) {
      const failures = failedEvents(commands, correlationIds, unread);
      const guarded = await this.store.writeFailuresIfSoldOut(commands, eventIds, failures);
      if (guarded.written) return commands.map(() => SOLD_OUT);
      facts = guarded.facts;
    } else {
      facts = await this.store.readBatchFacts(commands, eventIds);
    }
    const allocations = allocateSeats(commands, facts.seatsLeft, facts.booked, facts.sales);
    this.remember(commands, allocations, facts.seatsLeft, facts.sales);
    if (writableWithoutLocks(commands, allocations, facts.seatsLeft)) {
      const written = await this.writeBatch(commands, correlationIds, allocations, startBy);
      if (written !== LOST_RACE) return written;
    }
    return this.reserveManyLocked(commands, correlationIds, eventIds, startBy);
  }

  /**
   * The batch decided under the events' row locks (a fresh snapshot taken
   * after them, so nothing committed is missed). The constraints still guard
   * the write: if one fires, nothing was written and the requests are
   * reserved one by one, each with its own outcome.
   */
  private async reserveManyLocked(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    eventIds: readonly number[],
    startBy: number,
  ): Promise<ReserveOutcome[]> {
    let allocations: Allocation[] = [];
    const inserted = await this.store.writeBatchLocked(
      commands,
      eventIds,
      (facts) => {
        allocations = allocateSeats(commands, facts.seatsLeft, facts.booked, facts.sales);
        this.remember(commands, allocations, facts.seatsLeft, facts.sales);
        return {
          ...winnersOf(commands, correlationIds, allocations),
          failures: failedEvents(commands, correlationIds, allocations),
        };
      },
      startBy,
    );
    if (inserted !== LOST_RACE) return answersOf(commands, allocations, inserted);
    const outcomes: ReserveOutcome[] = [];
    for (const [i, command] of commands.entries()) {
      outcomes.push(
        await this.reserveOne(command, correlationIds[i]!, startBy).catch((failure: unknown) => ({ error: failure })),
      );
    }
    return outcomes;
  }

  /** Inserts the winners and every refusal's event in one statement; the answers in request order. */
  private async writeBatch(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    allocations: readonly Allocation[],
    startBy: number,
  ): Promise<ReserveResult[] | LostRace> {
    const { winners, winnerCorrelationIds } = winnersOf(commands, correlationIds, allocations);
    const inserted = await this.store.writeBatch(
      winners,
      winnerCorrelationIds,
      failedEvents(commands, correlationIds, allocations),
      startBy,
    );
    return inserted === LOST_RACE ? inserted : answersOf(commands, allocations, inserted);
  }

  /**
   * Keeps the seats a decided batch leaves its events, given the seats it was
   * decided on, and the events' sales windows when they were read.
   */
  private remember(
    commands: readonly ReserveBookingCommand[],
    allocations: readonly Allocation[],
    seatsLeftBefore: ReadonlyMap<number, number>,
    salesRead?: ReadonlyMap<number, EventSales>,
  ): void {
    // A guess may be dropped at any time: past a bound, all are, and the next batches read.
    if (this.lastSeatsLeft.size > MAX_REMEMBERED_EVENTS) {
      this.lastSeatsLeft.clear();
      this.lastWindows.clear();
    }
    for (const [eventId, sales] of salesRead ?? []) this.lastWindows.set(eventId, sales.window);
    for (const [eventId, left] of seatsLeftAfter(commands, allocations, seatsLeftBefore)) {
      this.lastSeatsLeft.set(eventId, left);
    }
  }
}

const SOLD_OUT: ReserveResult = { rejection: { reason: 'sold_out' } };

const isRetryOfOwnBooking = (command: ReserveCommand, outcome: ReserveOutcome): outcome is ReserveResult =>
  command.retry_of !== undefined && 'rejection' in outcome && outcome.rejection.reason === 'already_booked';

const distinctEventIds = (commands: readonly ReserveBookingCommand[]): number[] =>
  [...new Set(commands.map((c) => c.event_id))].sort((a, b) => a - b);
