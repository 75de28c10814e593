import type { BookingView, CancelledBookingView, ReserveBookingCommand } from '@booking/shared';
import type { FailedEvent } from '../outbox/outbox-events.js';
import type { RejectionFacts } from './reservation-rules.js';
import type { EventSales } from './sales-window.js';

/**
 * What decides a batch: each existing event's seats left and sales (at the
 * statement's time), and the requested (event, user) pairs already booked.
 */
export interface BatchFacts {
  seatsLeft: Map<number, number>;
  /** `bookingKey`s. */
  booked: Set<string>;
  sales: Map<number, EventSales>;
}

/**
 * A write refused because a concurrent writer got there first (a constraint
 * fired, or PostgreSQL broke a deadlock): nothing was written, and deciding
 * again on fresher facts may give another answer.
 */
export const LOST_RACE = 'lost_race';
export type LostRace = typeof LOST_RACE;

/**
 * What the reservations need from storage: `BookingRepository` in the
 * service, an in-memory fake in unit tests. Each method is one statement (one
 * round trip) unless it says otherwise; `startBy` (epoch ms) is when a write
 * must have started, else it writes nothing and fails.
 */
export interface ReservationStore {
  /** Books a seat with its `booking.created` event, or says what it saw when it booked none. */
  reserveOne(
    command: ReserveBookingCommand,
    correlationId: string,
    startBy: number,
  ): Promise<{ booking: BookingView } | { refused: RejectionFacts }>;
  readBatchFacts(commands: readonly ReserveBookingCommand[], eventIds: readonly number[]): Promise<BatchFacts>;
  /** Inserts the winners and `failures`' events; the bookings made, in any order. */
  writeBatch(
    winners: readonly ReserveBookingCommand[],
    winnerCorrelationIds: readonly string[],
    failures: readonly FailedEvent[],
    startBy: number,
  ): Promise<BookingView[] | LostRace>;
  /**
   * Reads the batch's facts and writes `failures` only if they show every
   * event on sale and sold out, and none of `commands`' users booked; else the
   * facts read.
   */
  writeFailuresIfSoldOut(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    failures: readonly FailedEvent[],
  ): Promise<{ written: true } | { written: false; facts: BatchFacts }>;
  /**
   * One short transaction under the events' row locks: reads the batch's
   * facts, lets `decide` allocate, writes as `writeBatch` does, commits.
   */
  writeBatchLocked(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    decide: (facts: BatchFacts) => {
      winners: ReserveBookingCommand[];
      winnerCorrelationIds: string[];
      failures: FailedEvent[];
    },
    startBy: number,
  ): Promise<BookingView[] | LostRace>;
  writeFailures(failures: readonly FailedEvent[]): Promise<void>;
  /** The user's booking for the event if the request `correlationId` made it. */
  bookingMadeBy(command: ReserveBookingCommand, correlationId: string): Promise<BookingView | undefined>;
  /** Deletes the booking with its `booking.cancelled` event; undefined when there was none to delete. */
  cancel(id: number, correlationId: string, startBy: number): Promise<CancelledBookingView | undefined>;
  /** The cancellation of booking `id` if the request `correlationId` made it. */
  cancellationBy(id: number, correlationId: string): Promise<CancelledBookingView | undefined>;
}
