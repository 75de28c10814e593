import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PublicRoute } from '../auth/auth.decorators.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { errorBodySchema, healthSchema } from '../docs/api-schemas.js';

@ApiTags('health')
@PublicRoute()
@Controller('health')
export class HealthController {
  constructor(private readonly bookingService: BookingClient) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (never rate limited)' })
  @ApiResponse({ status: 200, standardSchema: healthSchema })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: connected to NATS (never rate limited)' })
  @ApiResponse({ status: 200, standardSchema: healthSchema })
  @ApiResponse({ status: 503, description: 'Not connected to NATS', standardSchema: errorBodySchema })
  ready(): { status: 'ok' } {
    if (!this.bookingService.isConnected()) throw new ServiceUnavailableException('NATS is not connected');
    return { status: 'ok' };
  }
}
