import type { QueueStatusView } from '@booking/shared';
import {
  Inject,
  Injectable,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type MessageEvent,
} from '@nestjs/common';
import {
  catchError,
  concat,
  defer,
  EMPTY,
  exhaustMap,
  finalize,
  from,
  map,
  of,
  share,
  Subject,
  takeUntil,
  takeWhile,
  timer,
  type Observable,
} from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import type { RoomRecord } from './queue-store.js';
import { ticksBetweenMessages } from './queue-rules.js';
import { WaitingRoom } from './waiting-room.js';

/** After one of these the stream has said all it will: it ends. */
const FINAL_STATES = new Set<QueueStatusView['state']>(['admitted', 'used', 'expired', 'closed', 'off']);

/** One shared read of a room per tick, or why there is none this tick. */
type RoomTick = { room: RoomRecord | undefined } | { unreachable: true };

/**
 * A client's place as a stream, read from Redis at once and then every WAITING_ROOM_TICK_MS, so that every
 * replica tells the same story and a client that reconnects to another one loses nothing. The streams of
 * one event share one read of the room per tick: after the opening a place's rank never changes, so its
 * status follows from the room's pace alone, and only a place whose turn has come (or one still drawn
 * among the early arrivals, whose rank can move) is read on its own, through `WaitingRoom.status`, which
 * admits it once. A place still far from its turn (or an early one far from the opening) is told, and read,
 * only every few ticks (`ticksBetweenMessages`). A tick that cannot reach Redis sends a comment; the next one
 * tries again.
 */
@Injectable()
export class QueueStreams implements BeforeApplicationShutdown {
  private open$ = 0;
  private readonly ticks = new Map<number, Observable<RoomTick>>();
  private readonly closing$ = new Subject<void>();

  constructor(
    private readonly room: WaitingRoom,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  get openStreams(): number {
    return this.open$;
  }

  /** Ends every open stream, so the HTTP server can close; the clients open theirs again elsewhere. */
  beforeApplicationShutdown(): void {
    this.closing$.next();
    this.closing$.complete();
  }

  async open(eventId: number, userId: string, requestId: string): Promise<Observable<MessageEvent>> {
    if (this.open$ >= this.config.WAITING_ROOM_MAX_STREAMS) {
      throw new ServiceUnavailableException('Too many queue streams right now; try again shortly');
    }
    // The first read before the stream starts, so that an unknown place is still an error answer.
    const first = await this.room.status(eventId, userId, requestId);
    this.open$++;
    const tickMs = this.config.WAITING_ROOM_TICK_MS;
    // A rank read after the opening (`state` waiting) is final; an early one is read again while it is early.
    let rank: number | undefined;
    let lastState = first.state;
    let quietTicks = 0;
    const told = (status: QueueStatusView): MessageEvent => {
      quietTicks = 0;
      lastState = status.state;
      if (status.state === 'waiting' && status.position !== null) rank = status.position - 1;
      return { type: 'queue', data: status };
    };
    const later = this.tickOf(eventId).pipe(
      exhaustMap((tick) => {
        if ('unreachable' in tick) return of<MessageEvent>(UNREACHABLE);
        quietTicks++;
        const room = tick.room;
        if (
          lastState === 'early' &&
          room &&
          quietTicks < ticksBetweenMessages((room.opensAt - room.now) / 1000, tickMs)
        )
          return EMPTY;
        const held = rank === undefined ? undefined : this.room.heldStatus(eventId, userId, rank, room);
        if (held) {
          const quiet = held.state === lastState && quietTicks < ticksBetweenMessages(held.estimated_wait_s, tickMs);
          return quiet ? EMPTY : of(told(held));
        }
        return defer(() => from(this.room.status(eventId, userId, requestId))).pipe(
          map(told),
          catchError(() => of<MessageEvent>(UNREACHABLE)),
        );
      }),
    );
    return concat(of(told(first)), FINAL_STATES.has(first.state) ? EMPTY : later).pipe(
      takeWhile(
        (message) => !FINAL_STATES.has((message.data as QueueStatusView | undefined)?.state ?? 'waiting'),
        true,
      ),
      takeUntil(this.closing$),
      finalize(() => this.open$--),
    );
  }

  /** The event's room read once per tick for all its streams on this replica, while any is open. */
  private tickOf(eventId: number): Observable<RoomTick> {
    let tick = this.ticks.get(eventId);
    if (!tick) {
      tick = timer(this.config.WAITING_ROOM_TICK_MS, this.config.WAITING_ROOM_TICK_MS).pipe(
        exhaustMap(() =>
          defer(() => from(this.room.roomState(eventId))).pipe(
            map((room): RoomTick => ({ room })),
            catchError(() => of<RoomTick>({ unreachable: true })),
          ),
        ),
        finalize(() => this.ticks.delete(eventId)),
        share(),
      );
      this.ticks.set(eventId, tick);
    }
    return tick;
  }
}

const UNREACHABLE: MessageEvent = { comment: 'waiting room unreachable; your place is kept' } as MessageEvent;
