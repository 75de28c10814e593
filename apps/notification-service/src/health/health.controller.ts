import type { DatabaseConnection } from '@booking/database';
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { DATABASE } from '../database/database.module.js';
import { BookingEventsConsumer } from '../notifications/booking-events.consumer.js';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseConnection,
    private readonly consumer: BookingEventsConsumer,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok' }> {
    if (!this.consumer.isConsuming()) throw new ServiceUnavailableException('Not consuming booking events (NATS)');
    try {
      await this.database.pool.query('SELECT 1');
    } catch {
      throw new ServiceUnavailableException('PostgreSQL is unreachable');
    }
    return { status: 'ok' };
  }
}
