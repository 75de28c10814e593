import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { NotificationServiceConfig } from './config.js';

/**
 * Starts the notification service: a durable JetStream consumer of booking
 * events (started when the app boots) and a small HTTP listener for health.
 */
export async function startNotificationService(
  config: NotificationServiceConfig,
  options: { logger?: false } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forConfig(config), new FastifyAdapter(), {
    logger: options.logger,
  });
  app.enableShutdownHooks();
  await app.listen(config.NOTIFICATION_SERVICE_PORT, '0.0.0.0');
  return app;
}
