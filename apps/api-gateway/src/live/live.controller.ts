import { Controller, Inject, ServiceUnavailableException, Sse, type MessageEvent } from '@nestjs/common';
import { endWith, finalize, ignoreElements, interval, map, merge, takeUntil, type Observable } from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { SeatFeed } from './seat-feed.js';

/** Seat changes streamed to browsers: `GET /api/events/live`, server-sent events named `seats`. */
@Controller('api/events')
export class LiveController {
  private openStreams = 0;

  constructor(
    private readonly feed: SeatFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Sse('live')
  stream(): Observable<MessageEvent> {
    // Each stream holds a connection for as long as the page is open: bound them.
    if (this.openStreams >= this.config.LIVE_MAX_STREAMS) {
      throw new ServiceUnavailableException('Too many live connections right now; try again later');
    }
    this.openStreams++;
    const updates = this.feed.updates();
    const seats = updates.pipe(map((update): MessageEvent => ({ type: 'seats', data: update })));
    // Keeps idle connections open through proxies; stops when the feed ends (shutdown), so the stream closes.
    const heartbeat = interval(this.config.LIVE_HEARTBEAT_MS).pipe(
      map((): MessageEvent => ({ comment: 'ping' })),
      takeUntil(updates.pipe(ignoreElements(), endWith(true))),
    );
    return merge(seats, heartbeat).pipe(finalize(() => this.openStreams--));
  }
}
