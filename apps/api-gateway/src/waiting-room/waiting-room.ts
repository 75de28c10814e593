import {
  WaitingRoomMessages,
  type EventView,
  type QueueStatusView,
  type QueueTicketView,
  type WaitingRoomSettings,
  type WaitingRoomView,
} from '@booking/shared';
import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { BookingClient } from '../booking-client/booking-client.js';
import { EventCatalogue } from '../events/event-catalogue.js';
import { RetryLaterException } from '../common/retry-later.exception.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { RedisUnavailableError } from '../redis/redis-availability.js';
import { QueueTokens } from './queue-tokens.js';
import { admittedCount, decidePlace, placing } from './queue-rules.js';
import { QueueStore, type RoomRecord } from './queue-store.js';

const iso = (epochMs: number): string | null => (epochMs > 0 ? new Date(epochMs).toISOString() : null);

/** Redis out of reach: nobody is admitted and nobody loses a place; the client retries. */
export const waitingRoomUnavailable = () => new RetryLaterException(WaitingRoomMessages.unavailable, 503, 1);

/** Runs a step of the waiting room, turning Redis being unreachable into a 503. */
export async function orUnavailable<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof RedisUnavailableError) throw waitingRoomUnavailable();
    throw error;
  }
}

/** An event's waiting room: switched on and paced by its organiser, joined by clients, who learn their turn. */
@Injectable()
export class WaitingRoom {
  private readonly logger = new Logger(WaitingRoom.name);

  constructor(
    private readonly store: QueueStore,
    private readonly tokens: QueueTokens,
    private readonly bookings: BookingClient,
    private readonly catalogue: EventCatalogue,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Switches the room on, or changes its pace; tied to the event's sales opening as the booking service has it. */
  async configure(eventId: number, settings: WaitingRoomSettings, requestId: string): Promise<WaitingRoomView> {
    // Read from the booking service, not the catalogue: the opening must be the current one.
    const event = await this.bookings.getEvent({ id: eventId }, requestId);
    const change = {
      rate: settings.admissions_per_second,
      leadMs: settings.join_opens_before_s * 1000,
      opensAt: opensAtOf(event),
      targetMs: settings.booking_p99_target_ms ?? null,
      maxRate: settings.max_admissions_per_second ?? settings.admissions_per_second,
      cutAt: null,
    };
    await orUnavailable(() => this.store.configure(eventId, change, true));
    return this.view(eventId);
  }

  async remove(eventId: number): Promise<void> {
    if (!(await orUnavailable(() => this.store.remove(eventId)))) {
      throw new NotFoundException(WaitingRoomMessages.noWaitingRoom(eventId));
    }
  }

  async view(eventId: number): Promise<WaitingRoomView> {
    const room = await orUnavailable(() => this.store.room(eventId));
    if (!room) throw new NotFoundException(WaitingRoomMessages.noWaitingRoom(eventId));
    return roomView(eventId, room);
  }

  /**
   * An organiser changed the event: its room follows a new sales opening. The change itself is made; if
   * Redis cannot be told now, the room keeps the old opening until the organiser sets the room again.
   */
  async eventChanged(event: EventView): Promise<void> {
    try {
      await this.store.configure(event.id, { opensAt: opensAtOf(event) }, false);
    } catch (error) {
      this.logger.warn(`Waiting room of event ${event.id} not moved to the new sales opening: ${String(error)}`);
    }
  }

  /** Takes a place (or finds the one taken before) and names it with a signed ticket. */
  async join(eventId: number, userId: string, requestId: string): Promise<QueueTicketView> {
    const joined = await orUnavailable(() => this.store.join(eventId, userId));
    switch (joined.kind) {
      case 'off':
        throw new NotFoundException(WaitingRoomMessages.noWaitingRoom(eventId));
      case 'closed':
        throw new ConflictException(WaitingRoomMessages.queueClosed(eventId));
      case 'not_yet':
        throw new ConflictException(WaitingRoomMessages.queueNotOpen(eventId, iso(joined.joinOpensAt)!));
    }
    const [ticket, status] = await Promise.all([
      this.tokens.ticket({ eventId, userId }),
      this.status(eventId, userId, requestId),
    ]);
    return { ticket, ...status };
  }

  /** The room as one read, for the streams of this replica to share (undefined: no room any more). */
  roomState(eventId: number): Promise<RoomRecord | undefined> {
    return orUnavailable(() => this.store.room(eventId));
  }

  /**
   * A place's status worked out from a shared read of its room, for a place whose rank can no longer change
   * (read after the opening): undefined when its turn has come, which only `status` may grant.
   */
  heldStatus(eventId: number, userId: string, rank: number, room: RoomRecord | undefined): QueueStatusView | undefined {
    const base = { event_id: eventId, user_id: userId, sales_open_at: iso(room?.opensAt ?? 0) };
    if (!room) return { ...base, state: 'off', position: null, ahead: 0, estimated_wait_s: null };
    const decision = decidePlace({ pace: room.pace, opensAt: room.opensAt, closed: room.closed, rank }, room.now);
    if (decision.kind !== 'hold') return undefined;
    return {
      ...base,
      state: decision.state,
      position: rank + 1,
      ahead: decision.ahead,
      estimated_wait_s: decision.waitS,
    };
  }

  /**
   * Where a place stands; when its turn has come, with its admission token (the same one every time), unless
   * the admissions not yet used hold every seat left. With no seat left the queue closes.
   */
  async status(eventId: number, userId: string, requestId: string): Promise<QueueStatusView> {
    const record = await orUnavailable(() => this.store.place(eventId, userId));
    const base = { event_id: eventId, user_id: userId };
    if (!record)
      return { ...base, state: 'off', position: null, ahead: 0, estimated_wait_s: null, sales_open_at: null };
    const decision = decidePlace(record, record.now);
    const known = {
      ...base,
      position: record.rank === undefined ? null : record.rank + 1,
      sales_open_at: iso(record.opensAt),
    };
    switch (decision.kind) {
      case 'not_queued':
        throw new NotFoundException('The ticket names no place in this queue (the waiting room was reset): join again');
      case 'hold':
        return { ...known, state: decision.state, ahead: decision.ahead, estimated_wait_s: decision.waitS };
    }
    let seatsLeft = 0; // an admission recorded before is given again, whatever the seats
    if (!record.admission) {
      seatsLeft = await this.seatsLeft(eventId, requestId);
      if (seatsLeft === 0) {
        await this.closeQueue(eventId);
        return { ...known, state: 'closed', ahead: 0, estimated_wait_s: null };
      }
    }
    const admitted = await orUnavailable(() =>
      this.store.admit(
        eventId,
        userId,
        record.admission?.jti ?? this.tokens.newJti(),
        record.admission?.expiresAt ?? record.now + this.config.WAITING_ROOM_ADMISSION_TTL_S * 1000,
        seatsLeft,
      ),
    );
    if (admitted.kind === 'held') return { ...known, state: 'seats_held', ahead: 0, estimated_wait_s: null };
    if (admitted.kind !== 'admitted') return { ...known, state: admitted.kind, ahead: 0, estimated_wait_s: null };
    const token = await this.tokens.admission({ eventId, userId, jti: admitted.jti, expiresAt: admitted.expiresAt });
    return {
      ...known,
      state: 'admitted',
      ahead: 0,
      estimated_wait_s: 0,
      admission_token: token,
      admission_expires_at: new Date(admitted.expiresAt).toISOString(),
    };
  }

  /**
   * After a reservation through the room: closes the queue if no seat is left (`soldOut`: the booking
   * service just said so). Failing now, the next turn to come or the next refusal closes it.
   */
  async closeIfSoldOut(eventId: number, requestId: string, soldOut = false): Promise<void> {
    try {
      if (soldOut || (await this.seatsLeft(eventId, requestId)) === 0) await this.closeQueue(eventId);
    } catch (error) {
      this.logger.warn(`Queue of event ${eventId} not closed yet: ${String(error)}`);
    }
  }

  /**
   * Seats left as this gateway's catalogue has them: dropped on every booking through it, and within the
   * live feed's window on one elsewhere. The booking service still decides every reservation; this only
   * keeps the room from admitting clients for seats that are gone or held, and closes it when none is left.
   */
  private async seatsLeft(eventId: number, requestId: string): Promise<number> {
    return (await this.catalogue.get(eventId, requestId)).available_seats;
  }

  /** Closes the queue of a sold-out event: every stream says so within a tick, nobody else is admitted. */
  private async closeQueue(eventId: number): Promise<void> {
    if (await orUnavailable(() => this.store.close(eventId)))
      this.logger.log(`Event ${eventId} sold out: its queue is closed`);
  }
}

const opensAtOf = (event: EventView): number => (event.sales_open_at ? Date.parse(event.sales_open_at) : 0);

function roomView(eventId: number, room: RoomRecord): WaitingRoomView {
  const admittedSoFar = Math.min(room.queued, admittedCount(room.pace, room.now));
  const state = room.closed
    ? 'closed'
    : room.opensAt > 0 && room.now < room.opensAt - room.leadMs
      ? 'not_open'
      : placing(room.now, room.opensAt, false) === 'early'
        ? 'early'
        : 'admitting';
  return {
    event_id: eventId,
    admissions_per_second: room.pace.rate,
    booking_p99_target_ms: room.targetMs,
    max_admissions_per_second: room.maxRate,
    join_opens_before_s: room.leadMs / 1000,
    join_opens_at: iso(room.opensAt > 0 ? room.opensAt - room.leadMs : 0),
    sales_open_at: iso(room.opensAt),
    state,
    waiting: Math.max(0, room.queued - admittedSoFar),
    admitted: room.admitted,
  };
}
