import 'reflect-metadata';
import {
  createHttpMetrics,
  createLogger,
  createMetricsRegistry,
  genReqId,
  installHttpMetrics,
  PinoLoggerService,
} from '@booking/observability';
import { namesFor } from '@booking/shared';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import type { BookingServiceConfig } from './config.js';
import { NatsServerConnection } from './health/nats-server-connection.js';
import { NamespacedNatsServer } from './namespaced-nats-server.js';

export interface StartOptions {
  /** `false` silences all logs (tests). */
  logger?: false;
  /** Where the JSON log lines go instead of standard output. */
  logDestination?: DestinationStream;
}

/**
 * Starts one booking-service replica: NATS request handlers on the namespace's
 * subjects, in its queue group (so replicas split the work), and a small HTTP
 * listener for health and metrics.
 */
export async function startBookingService(
  config: BookingServiceConfig,
  options: StartOptions = {},
): Promise<INestApplication> {
  const logger = createLogger({
    service: 'booking-service',
    level: options.logger === false ? 'silent' : config.LOG_LEVEL,
    destination: options.logDestination,
  });
  const registry = createMetricsRegistry();
  const adapter = new FastifyAdapter({ genReqId });
  installHttpMetrics(adapter.getInstance(), createHttpMetrics(registry), logger);
  const app = await NestFactory.create(AppModule.forConfig(config, { logger, registry }), adapter, {
    logger: new PinoLoggerService(logger),
    bufferLogs: false,
  });
  const names = namesFor(config.BOOKING_NAMESPACE);
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    {
      strategy: new NamespacedNatsServer(
        {
          servers: config.NATS_URL,
          queue: names.queueGroup,
          name: 'booking-service',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // Stop taking new requests first, then let in-flight ones finish.
          gracefulShutdown: true,
          gracePeriod: 2_000,
        },
        names.requestSubject,
      ),
    },
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  app.get(NatsServerConnection).attach(microservice);
  await app.listen(config.BOOKING_SERVICE_PORT, '0.0.0.0');
  return app;
}
