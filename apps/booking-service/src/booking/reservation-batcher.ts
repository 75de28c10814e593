import type { ReserveBookingCommand } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { BookingRepository, type ReserveResult } from './booking.repository.js';

interface Pending {
  command: ReserveBookingCommand;
  correlationId: string;
  resolve: (result: ReserveResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for reservations. A reservation runs at once while fewer than
 * RESERVE_MAX_IN_FLIGHT database calls are busy; otherwise it waits, and all
 * that waited go together in the next call (up to RESERVE_BATCH_SIZE). Idle
 * load sees no added delay; under a flash sale one transaction, one row lock
 * and one commit serve many buyers. A lone request takes the one-statement path.
 */
@Injectable()
export class ReservationBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private drainScheduled = false;

  constructor(
    private readonly bookings: BookingRepository,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  reserve(command: ReserveBookingCommand, correlationId: string): Promise<ReserveResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ command, correlationId, resolve, reject });
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

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.config.RESERVE_MAX_IN_FLIGHT) {
      const batch = this.queue.splice(0, this.config.RESERVE_BATCH_SIZE);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const results =
        batch.length === 1
          ? [await this.bookings.reserve(batch[0]!.command, batch[0]!.correlationId)]
          : await this.bookings.reserveMany(
              batch.map((pending) => pending.command),
              batch.map((pending) => pending.correlationId),
            );
      batch.forEach((pending, i) => pending.resolve(results[i]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
