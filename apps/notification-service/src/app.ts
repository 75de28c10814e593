import 'reflect-metadata';
import {
  createHttpMetrics,
  createLogger,
  createMetricsRegistry,
  genReqId,
  installHttpMetrics,
  PinoLoggerService,
} from '@booking/observability';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import type { NotificationServiceConfig } from './config.js';

export interface StartOptions {
  /** `false` silences all logs (tests). */
  logger?: false;
  /** Where the JSON log lines go instead of standard output. */
  logDestination?: DestinationStream;
}

/**
 * Starts the notification service: a durable JetStream consumer of booking
 * events (started when the app boots) and a small HTTP listener for health and metrics.
 */
export async function startNotificationService(
  config: NotificationServiceConfig,
  options: StartOptions = {},
): Promise<INestApplication> {
  const logger = createLogger({
    service: 'notification-service',
    level: options.logger === false ? 'silent' : config.LOG_LEVEL,
    destination: options.logDestination,
  });
  const registry = createMetricsRegistry();
  const adapter = new FastifyAdapter({ genReqId });
  installHttpMetrics(adapter.getInstance(), createHttpMetrics(registry), logger);
  const app = await NestFactory.create(AppModule.forConfig(config, { logger, registry }), adapter, {
    logger: new PinoLoggerService(logger),
  });
  app.enableShutdownHooks();
  await app.listen(config.NOTIFICATION_SERVICE_PORT, '0.0.0.0');
  return app;
}
