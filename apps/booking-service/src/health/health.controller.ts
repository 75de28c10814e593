import type { DatabaseConnection } from '@booking/database';
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { DATABASE } from '../database/database.module.js';

@Controller('health')
export class HealthController {
  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok' }> {
    try {
      await this.database.pool.query('SELECT 1');
      return { status: 'ok' };
    } catch {
      throw new ServiceUnavailableException('PostgreSQL is unreachable');
    }
  }
}
