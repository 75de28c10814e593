import type { QueueStatusView } from '@booking/shared';
import { Inject, Injectable, ServiceUnavailableException, type MessageEvent } from '@nestjs/common';
import { catchError, concat, defer, EMPTY, exhaustMap, finalize, from, interval, map, of, takeWhile } from 'rxjs';
import type { Observable } from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { WaitingRoom } from './waiting-room.js';

/** After one of these the stream has said all it will: it ends. */
const FINAL_STATES = new Set<QueueStatusView['state']>(['admitted', 'used', 'expired', 'closed', 'off']);

/**
 * A client's place as a stream: read from Redis at once and then every WAITING_ROOM_TICK_MS, so that every
 * replica tells the same story and a client that reconnects to another one loses nothing. A tick that
 * cannot reach Redis sends a comment and the next one tries again. The place's own turn is decided in
 * `WaitingRoom.status`, which admits it (once) when the time comes.
 */
@Injectable()
export class QueueStreams {
  private open$ = 0;

  constructor(
    private readonly room: WaitingRoom,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  get openStreams(): number {
    return this.open$;
  }

  async open(eventId: number, userId: string): Promise<Observable<MessageEvent>> {
    if (this.open$ >= this.config.WAITING_ROOM_MAX_STREAMS) {
      throw new ServiceUnavailableException('Too many queue streams right now; try again shortly');
    }
    // The first read before the stream starts, so that an unknown place is still an error answer.
    const first = await this.room.status(eventId, userId);
    this.open$++;
    const later = interval(this.config.WAITING_ROOM_TICK_MS).pipe(
      exhaustMap(() =>
        defer(() => from(this.room.status(eventId, userId))).pipe(
          map((status): MessageEvent => ({ type: 'queue', data: status })),
          catchError(() => of<MessageEvent>({ comment: 'waiting room unreachable; your place is kept' })),
        ),
      ),
    );
    return concat(of<MessageEvent>({ type: 'queue', data: first }), FINAL_STATES.has(first.state) ? EMPTY : later).pipe(
      takeWhile(
        (message) => !FINAL_STATES.has((message.data as QueueStatusView | undefined)?.state ?? 'waiting'),
        true,
      ),
      finalize(() => this.open$--),
    );
  }
}
