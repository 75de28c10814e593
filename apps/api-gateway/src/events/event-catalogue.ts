import type { EventView } from '@booking/shared';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { BookingClient } from '../booking-client/booking-client.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { SeatFeed } from '../live/seat-feed.js';

interface Copy {
  view: EventView;
  expiresAt: number;
}

/** Past this many events with a recorded change, the records are forgotten and every lookup in flight is too. */
const MAX_TRACKED_CHANGES = 10_000;

/**
 * The events as this gateway last read them, for the read a crowd repeats
 * while it waits for seats (`GET /api/events/:id`). Their seats left are a
 * display, never an answer to a reservation: the booking path always asks the
 * booking service. (The list, `GET /api/events`, is read every time: events
 * may be added by hand, which no booking event announces.)
 *
 * An event's copy is dropped when its seats or details change: at once when
 * the change was made through this gateway (a client reads its own writes),
 * and within the live feed's window when it was made elsewhere (the booking
 * events, `event.updated` among them). A lookup that started before a change
 * is answered but not kept. Every copy is
 * read again after READ_CACHE_TTL_MS at the latest, in case a message was
 * missed; errors are never kept.
 */
@Injectable()
export class EventCatalogue implements OnModuleInit, OnModuleDestroy {
  private readonly events = new Map<number, Copy>();
  /** Counts every change seen; a lookup is kept only if no change to its event came after it started. */
  private changes = 0;
  private readonly lastChange = new Map<number, number>();
  /** Changes before this one are no longer in `lastChange`. */
  private forgottenBefore = 0;
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly bookings: BookingClient,
    private readonly feed: SeatFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.READ_CACHE_TTL_MS === 0) return;
    this.subscriptions.push(
      this.bookings.changedEvents().subscribe((id) => this.changed([id])),
      this.feed.changedEvents().subscribe((ids) => {
        this.bookings.stopSharingEarlierReads();
        this.changed(ids);
      }),
    );
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  async get(id: number, requestId: string): Promise<EventView> {
    const cached = this.events.get(id);
    if (cached && cached.expiresAt > Date.now()) return cached.view;
    const started = this.changes;
    const view = await this.bookings.getEvent({ id }, requestId);
    if (this.config.READ_CACHE_TTL_MS > 0 && this.unchangedSince(started, id)) {
      this.events.set(id, { view, expiresAt: Date.now() + this.config.READ_CACHE_TTL_MS });
    }
    return view;
  }

  private changed(ids: readonly number[]): void {
    this.changes++;
    if (this.lastChange.size + ids.length > MAX_TRACKED_CHANGES) {
      this.lastChange.clear();
      this.forgottenBefore = this.changes;
    }
    for (const id of ids) {
      this.events.delete(id);
      this.lastChange.set(id, this.changes);
    }
  }

  private unchangedSince(started: number, id: number): boolean {
    return (this.lastChange.get(id) ?? this.forgottenBefore) <= started;
  }
}
