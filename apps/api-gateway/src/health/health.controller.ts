import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { BookingClient } from '../booking-client/booking-client.js';

@Controller('health')
export class HealthController {
  constructor(private readonly bookingService: BookingClient) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: 'ok' } {
    if (!this.bookingService.isConnected()) throw new ServiceUnavailableException('NATS is not connected');
    return { status: 'ok' };
  }
}
