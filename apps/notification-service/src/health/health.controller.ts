import type { DatabaseConnection } from '@booking/database';
import { checkReadiness, natsCheck, postgresCheck } from '@booking/observability';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DATABASE } from '../database/database.module.js';
import { BookingEventsConsumer } from '../notifications/booking-events.consumer.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATABASE) private readonly database: DatabaseConnection,
    private readonly consumer: BookingEventsConsumer,
  ) {}

  /** The process runs and answers; says nothing about dependencies. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready: PostgreSQL answers a query, NATS a round trip, and the consumer is pulling booking events. */
  @Get('ready')
  ready() {
    return checkReadiness(this.health, [
      postgresCheck(this.indicators, 'postgresql', this.database.pool),
      natsCheck(this.indicators, 'nats', () => this.consumer.connection()),
      () =>
        this.consumer.isConsuming()
          ? this.indicators.check('consumer').up()
          : this.indicators.check('consumer').down('not consuming booking events'),
    ]);
  }
}
