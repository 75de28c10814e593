import { Module } from '@nestjs/common';
import { EventCommandsController, EventQueriesController } from './events.controller.js';
import { EventsRepository } from './events.repository.js';

@Module({
  controllers: [EventCommandsController, EventQueriesController],
  providers: [EventsRepository],
})
export class EventsModule {}
