import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { EventCatalogueModule } from '../events/event-catalogue.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { AdaptivePace } from './adaptive-pace.js';
import { AdmissionGate } from './admission-gate.js';
import { PaceReports } from './pace-reports.js';
import { QueueStore } from './queue-store.js';
import { QueueStreams } from './queue-streams.js';
import { QueueTokens } from './queue-tokens.js';
import { WaitingRoom } from './waiting-room.js';
import { WaitingRoomController } from './waiting-room.controller.js';

/** Per-event waiting rooms: the queue in Redis, its pace, and the admission the reservation route checks. */
@Module({
  imports: [BookingClientModule, EventCatalogueModule, IdempotencyModule, RedisModule],
  controllers: [WaitingRoomController],
  providers: [QueueStore, QueueTokens, WaitingRoom, QueueStreams, AdmissionGate, AdaptivePace, PaceReports],
  exports: [AdmissionGate, WaitingRoom],
})
export class WaitingRoomModule {}
