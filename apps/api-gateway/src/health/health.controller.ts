import { checkReadiness, natsCheck } from '@booking/observability';
import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { BookingClient } from '../booking-client/booking-client.js';
import { errorBodySchema, healthSchema } from '../docs/api-schemas.js';

/** Probes: public and never rate limited (the request pipeline's rule for `/health/` and `/metrics`). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly bookings: BookingClient,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (never rate limited)' })
  @ApiResponse({ status: 200, standardSchema: healthSchema })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: NATS answers a round trip (never rate limited)' })
  @ApiResponse({ status: 200, standardSchema: healthSchema })
  @ApiResponse({ status: 503, description: 'Not ready: NATS does not answer', standardSchema: errorBodySchema })
  ready() {
    return checkReadiness(this.health, [natsCheck(this.indicators, 'nats', () => this.bookings.connection())]);
  }
}
