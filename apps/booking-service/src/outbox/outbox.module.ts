import { Module } from '@nestjs/common';
import { EventsNatsShutdown, eventsNatsProvider } from './events-nats.provider.js';
import { OutboxRelay } from './outbox-relay.js';
import { outboxRetentionProvider } from './outbox-retention.js';

@Module({
  providers: [eventsNatsProvider, EventsNatsShutdown, OutboxRelay, outboxRetentionProvider],
  exports: [OutboxRelay],
})
export class OutboxModule {}
