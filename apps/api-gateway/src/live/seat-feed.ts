import {
  BookingEventType,
  idSchema,
  MAX_EVENTS_PER_SEATS_QUERY,
  namesFor,
  natsConnectionOptions,
  type SeatUpdate,
} from '@booking/shared';
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

/**
 * The booking events that change an event's seats left or what the catalogue shows of it: a booking made
 * or cancelled, an organiser's change (capacity, details, sales window).
 */
export const SEAT_CHANGING_TYPES = [
  BookingEventType.created,
  BookingEventType.cancelled,
  BookingEventType.eventUpdated,
] as const;

/** Only the part of a booking event the feed needs; the rest of the envelope is not its business. */
const seatChangeSchema = z.object({ data: z.object({ event_id: idSchema('event_id') }) });

/**
 * Listens to booking events on NATS and turns them into seat counts for the
 * live streams. A message only says *which* event changed: the count itself is
 * read from the booking service (the source of truth), so a lost, repeated or
 * out-of-order message can never leave a page with a wrong number for longer
 * than the next change. Bursts are coalesced: the events that change within
 * LIVE_COALESCE_MS of the first are looked up together, in one query, however
 * many bookings arrive and however many events they touch. Each window's
 * changed events are also told to the event catalogue, which drops what it
 * cached of them. While no stream is open and no catalogue listens, messages
 * are dropped unread.
 */
@Injectable()
export class SeatFeed implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SeatFeed.name);
  private readonly updates$ = new Subject<SeatUpdate>();
  private readonly changes$ = new Subject<number[]>();
  /** Events changed since the current window opened; looked up when it closes. */
  private readonly changed = new Set<number>();
  private window?: NodeJS.Timeout;
  private connection?: NatsConnection;

  constructor(
    private readonly bookings: BookingClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.connection = await connect({
      ...natsConnectionOptions(this.config, 'api-gateway (live seats)'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    const names = namesFor(this.config.BOOKING_NAMESPACE);
    for (const type of SEAT_CHANGING_TYPES) {
      // Core subscription: also receives what the outbox relay publishes to JetStream, with no consumer state to keep.
      this.connection.subscribe(names.eventSubject(type), {
        callback: (error, message) => {
          if (!error) this.onMessage(message);
        },
      });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.window);
    this.changed.clear();
    // Ends every open stream, so the HTTP server can close.
    this.updates$.complete();
    this.changes$.complete();
    await this.connection?.drain().catch(() => undefined);
  }

  /** Seat changes from now on, for as long as the subscriber listens. */
  updates(): Observable<SeatUpdate> {
    return this.updates$.asObservable();
  }

  /** The events whose seats changed, once per window, before their seats are looked up. */
  changedEvents(): Observable<number[]> {
    return this.changes$.asObservable();
  }

  private onMessage(message: Msg): void {
    // Nobody is watching: no parsing, no lookups. Under load that is thousands of messages and, with many
    // events changing, hundreds of lookups a second.
    if (!this.updates$.observed && !this.changes$.observed) return;
    let eventId: number;
    try {
      eventId = seatChangeSchema.parse(message.json()).data.event_id;
    } catch {
      this.logger.warn(`${message.subject}: ignored a message without a valid data.event_id`);
      return;
    }
    this.changed.add(eventId);
    this.window ??= setTimeout(() => this.closeWindow(), this.config.LIVE_COALESCE_MS);
  }

  private closeWindow(): void {
    this.window = undefined;
    const ids = [...this.changed];
    this.changed.clear();
    this.changes$.next(ids);
    if (!this.updates$.observed) return;
    for (let start = 0; start < ids.length; start += MAX_EVENTS_PER_SEATS_QUERY) {
      void this.publish(ids.slice(start, start + MAX_EVENTS_PER_SEATS_QUERY));
    }
  }

  private async publish(ids: number[]): Promise<void> {
    try {
      const seats = await this.bookings.seatsLeft({ ids });
      for (const update of seats) this.updates$.next(update);
    } catch (error) {
      // The next change of these events corrects the figures; pages also read them fresh when they load.
      this.logger.warn(
        `${ids.length} events: seats not refreshed (${error instanceof HttpException ? error.message : String(error)})`,
      );
    }
  }
}
