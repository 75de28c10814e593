import type { DatabaseConnection } from '@booking/database';
import { checkReadiness, natsCheck, postgresCheck } from '@booking/observability';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DATABASE } from '../database/database.module.js';
import { NatsServerConnection } from './nats-server-connection.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATABASE) private readonly database: DatabaseConnection,
    private readonly nats: NatsServerConnection,
  ) {}

  /** The process runs and answers; says nothing about dependencies. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to take work: PostgreSQL answers a query and NATS a round trip. */
  @Get('ready')
  ready() {
    return checkReadiness(this.health, [
      postgresCheck(this.indicators, 'postgresql', this.database.pool),
      natsCheck(this.indicators, 'nats', () => this.nats.get()),
    ]);
  }
}
