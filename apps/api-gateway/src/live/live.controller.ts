import { Controller, Inject, ServiceUnavailableException, Sse, type MessageEvent } from '@nestjs/common';
import { endWith, finalize, ignoreElements, interval, map, merge, takeUntil, type Observable } from 'rxjs';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PublicRoute } from '../auth/auth.decorators.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { SeatFeed } from './seat-feed.js';

/** Seat changes streamed to browsers: `GET /api/events/live`, server-sent events named `seats`. */
@ApiTags('events')
@Controller('api/events')
export class LiveController {
  private openStreams = 0;

  constructor(
    private readonly feed: SeatFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Sse('live')
  // Public like the catalogue; EventSource cannot send an Authorization header anyway.
  @PublicRoute()
  @ApiOperation({
    summary: 'Seats left, live (server-sent events)',
    description:
      'A stream of `event: seats` messages, `data: {"event_id","available_seats","total_seats"}`, sent within a ' +
      'fraction of a second of any booking or cancellation; a comment line every LIVE_HEARTBEAT_MS keeps it open.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'The stream' })
  @ApiResponse({ status: 503, description: 'Too many live connections' })
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
