import 'reflect-metadata';
import { BOOKING_QUEUE_GROUP } from '@booking/shared';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { BookingServiceConfig } from './config.js';

/**
 * Starts one booking-service replica: NATS request handlers in the shared queue
 * group (so replicas split the work) and a small HTTP listener for health.
 */
export async function startBookingService(
  config: BookingServiceConfig,
  options: { logger?: false } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forConfig(config), new FastifyAdapter(), {
    logger: options.logger,
    bufferLogs: false,
  });
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.NATS,
      options: {
        servers: config.NATS_URL,
        queue: BOOKING_QUEUE_GROUP,
        name: 'booking-service',
        maxReconnectAttempts: -1,
        // Stop taking new requests first, then let in-flight ones finish.
        gracefulShutdown: true,
        gracePeriod: 2_000,
      },
    },
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.BOOKING_SERVICE_PORT, '0.0.0.0');
  return app;
}
