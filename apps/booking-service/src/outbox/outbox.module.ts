import { Module } from '@nestjs/common';
import { EventsNatsShutdown, eventsNatsProvider } from './events-nats.provider.js';
import { OutboxRelay } from './outbox-relay.js';

@Module({ providers: [eventsNatsProvider, EventsNatsShutdown, OutboxRelay], exports: [OutboxRelay] })
export class OutboxModule {}
