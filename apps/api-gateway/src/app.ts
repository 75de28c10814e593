import 'reflect-metadata';
import {
  createHttpMetrics,
  createLogger,
  createMetricsRegistry,
  genReqId,
  installHttpMetrics,
  PinoLoggerService,
} from '@booking/observability';
import fastifyCors from '@fastify/cors';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import { BOOKING_ACCESS_KEY_HEADER } from './auth/booking-access.js';
import { connectionTimeouts } from './common/client-connections.js';
import { frameworkErrors } from './common/request-parsing.js';
import type { GatewayConfig } from './config.js';
import { setupOpenApi } from './docs/openapi.js';
import { registerRequestPipeline } from './pipeline/request-pipeline.js';
import { serveWebApp } from './web/web-app.js';

export interface StartOptions {
  /** `false` silences all logs (tests). */
  logger?: false;
  /** Where the JSON log lines go instead of standard output. */
  logDestination?: DestinationStream;
}

/** Builds and starts the HTTP gateway; returns it listening. */
export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  const logger = createLogger({
    service: 'api-gateway',
    level: options.logger === false ? 'silent' : config.LOG_LEVEL,
    destination: options.logDestination,
  });
  const registry = createMetricsRegistry();
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    ...connectionTimeouts(config),
    genReqId,
    trustProxy: splitList(config.TRUST_PROXY),
    frameworkErrors,
    routerOptions: { maxParamLength: 200 },
  });
  installHttpMetrics(adapter.getInstance(), createHttpMetrics(registry), logger);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forConfig(config, { logger, registry }),
    adapter,
    {
      logger: new PinoLoggerService(logger),
      // Our own JSON parser (registerJsonBodyParser) replaces Nest's.
      bodyParser: false,
    },
  );
  // Before the controllers' routes are added (at listen), so that the pipeline's hooks reach them.
  registerRequestPipeline(app, config);
  const origins = splitList(config.CORS_ORIGINS);
  if (origins.length > 0) {
    await app.register(fastifyCors, {
      origin: origins.includes('*') ? true : origins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id', BOOKING_ACCESS_KEY_HEADER],
      exposedHeaders: [
        'x-request-id',
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
        'ratelimit-policy',
        'idempotent-replayed',
        BOOKING_ACCESS_KEY_HEADER,
      ],
      maxAge: 600,
    });
  }
  setupOpenApi(app);
  await serveWebApp(app, config);
  app.enableShutdownHooks();
  await app.listen(config.PORT, config.HOST);
  return app;
}

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
