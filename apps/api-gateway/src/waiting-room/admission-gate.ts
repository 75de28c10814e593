import { ErrorMessages, WaitingRoomMessages, type ReserveBookingCommand } from '@booking/shared';
import {
  ConflictException,
  ForbiddenException,
  HttpException,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { RedisUnavailableError } from '../redis/redis-availability.js';
import { AdaptivePace } from './adaptive-pace.js';
import { QueueStore } from './queue-store.js';
import { QueueTokens } from './queue-tokens.js';
import { WaitingRoom, waitingRoomUnavailable } from './waiting-room.js';

/** How often the list of events with a waiting room is read again (it serves only while Redis is away). */
const ROOMS_REFRESH_MS = 1_000;

/**
 * The reservation's door for events with a waiting room. Whether an event has one is asked of Redis for
 * every reservation, never taken from a replica's cache, so no gateway can let a reservation past a room
 * switched on elsewhere: without a token, in one round trip for the reservations of one turn of the event
 * loop (`QueueStore.hasRoom`); with one, in the script that claims it. A valid token is claimed for the reservation, used up by
 * its success and given back after a refusal (sold out, already booked, a fault), so a 4xx does not cost
 * the turn. The booking that takes the last seat closes the queue, and so does a refusal for want of seats
 * (the seats went another way): everyone still waiting is told. How long each of these reservations took
 * here, from its token's check to its answer, is what an adaptive pace follows.
 *
 * While Redis is unreachable nothing can be claimed, so a reservation with a token gets 503; one without a
 * token goes ahead only for an event that had no waiting room when the list of rooms was last read (each
 * second). A replica that never read the list refuses them all until it can.
 */
@Injectable()
export class AdmissionGate implements OnApplicationBootstrap, OnModuleDestroy {
  private knownRooms: ReadonlySet<number> | undefined;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: QueueStore,
    private readonly tokens: QueueTokens,
    private readonly room: WaitingRoom,
    private readonly pace: AdaptivePace,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.refreshRooms();
    this.timer = setInterval(() => void this.refreshRooms(), ROOMS_REFRESH_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Runs `book` if the reservation may pass: no waiting room, or a valid admission token not yet used. */
  async reserve<T>(
    command: ReserveBookingCommand,
    tokenText: string | undefined,
    requestId: string,
    book: () => Promise<T>,
  ): Promise<T> {
    if (tokenText === undefined) return this.reserveWithoutToken(command, book);
    const started = performance.now();
    const jti = await this.admissionOf(command, tokenText);
    let claim;
    try {
      claim = await this.store.claim(command.event_id, jti);
    } catch (error) {
      if (error instanceof RedisUnavailableError) throw waitingRoomUnavailable();
      throw error;
    }
    switch (claim) {
      case 'off':
        return book();
      case 'unknown':
        throw new ForbiddenException(WaitingRoomMessages.admissionInvalid('it is not on record in this waiting room'));
      case 'used':
      case 'busy':
        throw new ConflictException(WaitingRoomMessages.admissionUsed);
    }
    return this.bookClaimed(command.event_id, jti, requestId, started, book);
  }

  private async reserveWithoutToken<T>(command: ReserveBookingCommand, book: () => Promise<T>): Promise<T> {
    let room;
    try {
      room = await this.store.hasRoom(command.event_id);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      if (this.knownRooms === undefined || this.knownRooms.has(command.event_id)) throw waitingRoomUnavailable();
      return book();
    }
    if (room) throw new ForbiddenException(WaitingRoomMessages.admissionRequired(command.event_id));
    return book();
  }

  private async bookClaimed<T>(
    eventId: number,
    jti: string,
    requestId: string,
    started: number,
    book: () => Promise<T>,
  ): Promise<T> {
    let outcome: 'used' | 'issued' = 'issued';
    // A reservation the booking path could not take (503, 504) counts as slower than any target.
    let failed = false;
    try {
      const booked = await book();
      outcome = 'used';
      return booked;
    } catch (error) {
      if (error instanceof HttpException && isSoldOut(error, eventId)) {
        await this.room.closeIfSoldOut(eventId, requestId, true);
      }
      failed = !(error instanceof HttpException) || error.getStatus() >= 500;
      throw error;
    } finally {
      // A claim left behind (Redis away now) may be taken again once it is old (QueueStore's CLAIM_TTL_MS).
      await this.store.settle(eventId, jti, outcome).catch(() => undefined);
      this.pace.record(eventId, failed ? Infinity : performance.now() - started);
      // Not waited for: the seat is booked whether or not the queue can be closed now.
      if (outcome === 'used') void this.room.closeIfSoldOut(eventId, requestId);
    }
  }

  private async admissionOf(command: ReserveBookingCommand, tokenText: string): Promise<string> {
    const admission = await this.tokens.readAdmission(tokenText, command.event_id);
    if (typeof admission === 'string') throw new ForbiddenException(WaitingRoomMessages.admissionInvalid(admission));
    if (admission.userId !== command.user_id) {
      throw new ForbiddenException(WaitingRoomMessages.admissionInvalid(`it was given to another user`));
    }
    return admission.jti;
  }

  private async refreshRooms(): Promise<void> {
    if (!this.store.available) return;
    try {
      this.knownRooms = new Set(await this.store.rooms());
    } catch {
      // Kept as last read; Redis being away is logged once, by RedisAvailability.
    }
  }
}

function isSoldOut(error: HttpException, eventId: number): boolean {
  const body = error.getResponse();
  const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  return error.getStatus() === 409 && message === ErrorMessages.soldOut(eventId);
}
