import type { GatewayMetrics } from '@booking/observability';
import {
  BookingSubjects,
  type BookingHistoryView,
  type BookingView,
  type CancelCommand,
  type CancelledBookingView,
  type CreateEventCommand,
  type EventView,
  type GetByIdQuery,
  type ListBookingsQuery,
  type ListEventsQuery,
  type ReserveCommand,
  type SeatsQuery,
  type SeatUpdate,
  type ServiceReply,
  type UpdateEventCommand,
  type WaitlistCommand,
  type WaitlistEntryView,
} from '@booking/shared';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GATEWAY_METRICS } from '../metrics/gateway-metrics.module.js';
import { NatsTransport } from './nats-transport.js';
import { ReservationBatchSender } from './reservation-batch-sender.js';
import { ResiliencePolicy, type BreakerState } from './resilience-policy.js';

/**
 * The booking service's request/reply subjects as typed calls, one per
 * subject. Commands (reserve, cancel, createEvent, updateEvent, the waitlist's join and leave) are sent once unless nobody
 * received them; reads are retried on quick failures and shared (below); both
 * go through the `ResiliencePolicy` and the `NatsTransport`. Reservations that
 * arrive together travel in one message (`ReservationBatchSender`).
 *
 * A read identical to one already on its way (same subject and payload) waits
 * for that one's answer instead of sending its own: under a crowd reading one
 * event this turns thousands of lookups a second into a few hundred, and no
 * answer is older than the lookup a request joined. Once a command is
 * answered, later reads no longer join lookups that may have started before it.
 */
@Injectable()
export class BookingClient {
  private readonly policy: ResiliencePolicy;
  private readonly reservations: ReservationBatchSender;
  /** Reads on their way to the booking service, by subject and payload. */
  private readonly readsInFlight = new Map<string, Promise<unknown>>();
  private sharedReads = 0;
  private readonly changed$ = new Subject<number>();

  constructor(
    private readonly transport: NatsTransport,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(GATEWAY_METRICS) metrics: GatewayMetrics,
  ) {
    this.policy = new ResiliencePolicy(transport, config, metrics);
    this.reservations = new ReservationBatchSender(transport.request.bind(transport), (size) =>
      metrics.reservationsPerMessage.observe(size),
    );
  }

  /** Counters for monitoring and tests: the policy's, and reads that joined one in flight. */
  get counters(): ResiliencePolicy['counters'] & { sharedReads: number } {
    return { ...this.policy.counters, sharedReads: this.sharedReads };
  }

  /** The state of each circuit breaker (for monitoring and tests). */
  get breakerStates(): Record<'command' | 'read', BreakerState> {
    return this.policy.breakerStates;
  }

  /** The NATS connection (for readiness). */
  connection(): NatsConnection {
    return this.transport.connection();
  }

  /**
   * The events a command through this gateway changed (a booking made or cancelled, an event created or
   * changed by an organiser), as each is answered.
   */
  changedEvents(): Observable<number> {
    return this.changed$.asObservable();
  }

  async reserve(command: ReserveCommand, requestId: string): Promise<BookingView> {
    const booking = await this.command<BookingView>(BookingSubjects.reserve, requestId, (deadline) =>
      this.reservations.reserve(command, requestId, deadline),
    );
    this.changed$.next(booking.event_id);
    return booking;
  }

  async cancel(command: CancelCommand, requestId: string): Promise<CancelledBookingView> {
    const cancelled = await this.send<CancelledBookingView>(BookingSubjects.cancel, command, requestId);
    this.changed$.next(cancelled.event_id);
    return cancelled;
  }

  async createEvent(command: CreateEventCommand, requestId: string): Promise<EventView> {
    const event = await this.send<EventView>(BookingSubjects.createEvent, command, requestId);
    this.changed$.next(event.id);
    return event;
  }

  /** An organiser's change of an event, or closing its sales. */
  async updateEvent(command: UpdateEventCommand, requestId: string): Promise<EventView> {
    const event = await this.send<EventView>(BookingSubjects.updateEvent, command, requestId);
    this.changed$.next(event.id);
    return event;
  }

  /** A place on a sold-out event's waitlist; changes no seat. */
  joinWaitlist(command: WaitlistCommand, requestId: string): Promise<WaitlistEntryView> {
    return this.send(BookingSubjects.joinWaitlist, command, requestId);
  }

  waitlistPosition(query: WaitlistCommand, requestId: string): Promise<WaitlistEntryView> {
    return this.read(BookingSubjects.waitlistPosition, query, requestId);
  }

  async leaveWaitlist(command: WaitlistCommand, requestId: string): Promise<void> {
    await this.send<null>(BookingSubjects.leaveWaitlist, command, requestId);
  }

  getBooking(query: GetByIdQuery, requestId: string): Promise<BookingView> {
    return this.read(BookingSubjects.getBooking, query, requestId);
  }

  bookingHistory(query: GetByIdQuery, requestId: string): Promise<BookingHistoryView> {
    return this.read(BookingSubjects.bookingHistory, query, requestId);
  }

  listBookings(query: ListBookingsQuery, requestId: string): Promise<BookingView[]> {
    return this.read(BookingSubjects.listBookings, query, requestId);
  }

  getEvent(query: GetByIdQuery, requestId: string): Promise<EventView> {
    return this.read(BookingSubjects.getEvent, query, requestId);
  }

  listEvents(query: ListEventsQuery, requestId: string): Promise<EventView[]> {
    return this.read(BookingSubjects.listEvents, query, requestId);
  }

  /**
   * Later reads no longer join lookups already on their way, which may have
   * started before a change this gateway just learnt of (as after a command).
   */
  stopSharingEarlierReads(): void {
    this.readsInFlight.clear();
  }

  /** The live feed's lookups, made for no request in particular. */
  seatsLeft(query: SeatsQuery): Promise<SeatUpdate[]> {
    return this.read(BookingSubjects.seatsLeft, query);
  }

  private send<T>(subject: string, payload: object, requestId: string): Promise<T> {
    return this.command(subject, requestId, (deadline) =>
      this.transport.request<T>(subject, payload, requestId, deadline),
    );
  }

  private async command<T>(
    subject: string,
    requestId: string,
    call: (deadline: number) => Promise<ServiceReply<T>>,
  ): Promise<T> {
    try {
      return await this.policy.execute('command', subject, requestId, call);
    } finally {
      this.stopSharingEarlierReads();
    }
  }

  private read<T>(subject: string, payload: object, requestId?: string): Promise<T> {
    const key = `${subject} ${JSON.stringify(payload)}`;
    const inFlight = this.readsInFlight.get(key);
    if (inFlight) {
      this.sharedReads++;
      return inFlight as Promise<T>;
    }
    const read = this.policy
      .execute<T>('read', subject, requestId, (deadline) =>
        this.transport.request<T>(subject, payload, requestId, deadline),
      )
      .finally(() => {
        if (this.readsInFlight.get(key) === read) this.readsInFlight.delete(key);
      });
    this.readsInFlight.set(key, read);
    return read;
  }
}
