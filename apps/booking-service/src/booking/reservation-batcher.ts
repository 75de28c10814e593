import type { ReserveCommand } from '@booking/shared';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { NotStartedError } from '../common/command-deadline.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { Reservations, type ReserveOutcome, type ReserveResult } from './reservations.js';

interface Pending {
  command: ReserveCommand;
  correlationId: string;
  /** Epoch ms by which its write must start (see `commandStartBy`). */
  startBy: number;
  resolve: (result: ReserveResult) => void;
  reject: (error: unknown) => void;
}

/** How often waiting reservations are checked for a start deadline that passed. */
const EXPIRY_SWEEP_MS = 50;

/**
 * Group commit for reservations. A reservation runs at once while fewer than
 * RESERVE_MAX_IN_FLIGHT database calls are busy; otherwise it waits, and all
 * that waited go together in the next call (up to RESERVE_BATCH_SIZE). Idle
 * load sees no added delay; under a flash sale one transaction, one row lock
 * and one commit serve many buyers. A lone request takes the one-statement path.
 *
 * The wait is bounded twice: at most RESERVE_MAX_QUEUE reservations wait (the
 * next is refused at once), and one whose start deadline passes while it waits
 * is refused then, not when a call frees up, so its caller hears "not booked"
 * while still listening. Both refusals are `NotStartedError`: nothing written.
 */
@Injectable()
export class ReservationBatcher implements OnApplicationShutdown {
  private queue: Pending[] = [];
  private inFlight = 0;
  private drainScheduled = false;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly reservations: Reservations,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  /** Reservations waiting for a database call and in one. */
  get load(): { waiting: number; inFlight: number } {
    return { waiting: this.queue.length, inFlight: this.inFlight };
  }

  reserve(command: ReserveCommand, correlationId: string, startBy: number): Promise<ReserveResult> {
    if (Date.now() > startBy) return Promise.reject(new NotStartedError('deadline'));
    if (this.queue.length >= this.config.RESERVE_MAX_QUEUE) return Promise.reject(new NotStartedError('busy'));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, correlationId, startBy, resolve, reject });
      // Drained once the current synchronous work is done, so reservations queued together (a batch message) go together.
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        queueMicrotask(() => {
          this.drainScheduled = false;
          this.drain();
        });
      }
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.config.RESERVE_MAX_IN_FLIGHT) {
      this.refuseExpired();
      const batch = this.queue.splice(0, this.config.RESERVE_BATCH_SIZE);
      if (batch.length === 0) break;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
    this.sweepWhileWaiting();
  }

  /** While reservations wait, refuses each whose start deadline has passed. */
  private sweepWhileWaiting(): void {
    if (this.queue.length === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    } else if (!this.sweeper) {
      this.sweeper = setInterval(() => {
        this.refuseExpired();
        if (this.queue.length === 0) this.sweepWhileWaiting();
      }, EXPIRY_SWEEP_MS);
      this.sweeper.unref();
    }
  }

  private refuseExpired(): void {
    const now = Date.now();
    if (this.queue.every((pending) => pending.startBy >= now)) return;
    const expired = new NotStartedError('deadline');
    const waiting: Pending[] = [];
    for (const pending of this.queue) {
      if (pending.startBy >= now) waiting.push(pending);
      else pending.reject(expired);
    }
    this.queue = waiting;
  }

  private async run(batch: Pending[]): Promise<void> {
    // The batch starts only as late as its most urgent reservation allows.
    const startBy = Math.min(...batch.map((pending) => pending.startBy));
    try {
      const outcomes: ReserveOutcome[] =
        batch.length === 1
          ? [await this.reservations.reserve(batch[0]!.command, batch[0]!.correlationId, startBy)]
          : await this.reservations.reserveMany(
              batch.map((pending) => pending.command),
              batch.map((pending) => pending.correlationId),
              startBy,
            );
      batch.forEach((pending, i) => {
        const outcome = outcomes[i]!;
        if ('error' in outcome) pending.reject(outcome.error);
        else pending.resolve(outcome);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
