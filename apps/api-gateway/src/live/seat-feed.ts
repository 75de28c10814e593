import { BookingEventType, BookingSubjects, idSchema, type EventView, type SeatUpdate } from '@booking/shared';
import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Subject, type Observable } from 'rxjs';
import { z } from 'zod';
import { BookingClient } from '../booking-client/booking-client.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';

/** The booking events that change seats left. */
export const SEAT_CHANGING_SUBJECTS = [BookingEventType.created, BookingEventType.cancelled] as const;

/** Only the part of a booking event the feed needs; the rest of the envelope is not its business. */
const seatChangeSchema = z.object({ data: z.object({ event_id: idSchema('event_id') }) });

/**
 * Listens to booking events on NATS and turns them into seat counts for the
 * live streams. A message only says *which* event changed: the count itself is
 * read from the booking service (the source of truth), so a lost, repeated or
 * out-of-order message can never leave a page with a wrong number for longer
 * than the next change. Bursts are coalesced: at most one lookup per event per
 * LIVE_COALESCE_MS, however many bookings arrive in it. While no stream is open,
 * messages are dropped unread.
 */
@Injectable()
export class SeatFeed implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SeatFeed.name);
  private readonly updates$ = new Subject<SeatUpdate>();
  private readonly scheduled = new Map<number, NodeJS.Timeout>();
  private connection?: NatsConnection;

  constructor(
    private readonly bookingService: BookingClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.connection = await connect({
      servers: this.config.NATS_URL,
      name: 'api-gateway (live seats)',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    for (const subject of SEAT_CHANGING_SUBJECTS) {
      // Core subscription: also receives what the outbox relay publishes to JetStream, with no consumer state to keep.
      this.connection.subscribe(subject, {
        callback: (error, message) => {
          if (!error) this.onMessage(message);
        },
      });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
    // Ends every open stream, so the HTTP server can close.
    this.updates$.complete();
    await this.connection?.drain().catch(() => undefined);
  }

  /** Seat changes from now on, for as long as the subscriber listens. */
  updates(): Observable<SeatUpdate> {
    return this.updates$.asObservable();
  }

  private onMessage(message: Msg): void {
    // Nobody is watching: no parsing, no lookups. Under load that is thousands of messages and, with many
    // events changing, hundreds of lookups a second (a quarter of the seed baseline's throughput).
    if (!this.updates$.observed) return;
    let eventId: number;
    try {
      eventId = seatChangeSchema.parse(message.json()).data.event_id;
    } catch {
      this.logger.warn(`${message.subject}: ignored a message without a valid data.event_id`);
      return;
    }
    this.schedule(eventId);
  }

  private schedule(eventId: number): void {
    if (this.scheduled.has(eventId)) return; // a lookup after this message is already due
    const timer = setTimeout(() => {
      this.scheduled.delete(eventId);
      void this.publish(eventId);
    }, this.config.LIVE_COALESCE_MS);
    this.scheduled.set(eventId, timer);
  }

  private async publish(eventId: number): Promise<void> {
    try {
      const event = await this.bookingService.query<EventView>(BookingSubjects.getEvent, { id: eventId });
      this.updates$.next({
        event_id: event.id,
        available_seats: event.available_seats,
        total_seats: event.total_seats,
      });
    } catch (error) {
      // The next change of this event corrects the figure; pages also read it fresh when they load.
      this.logger.warn(
        `event ${eventId}: seats not refreshed (${error instanceof HttpException ? error.message : String(error)})`,
      );
    }
  }
}
