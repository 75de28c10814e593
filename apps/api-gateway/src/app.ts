import { createServiceApp, type StartOptions } from '@booking/service-kit';
import fastifyCors from '@fastify/cors';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { BOOKING_ACCESS_KEY_HEADER } from './auth/booking-access.js';
import { connectionTimeouts } from './common/client-connections.js';
import { LINK_HEADER, NEXT_CURSOR_HEADER } from './common/paging.js';
import { frameworkErrors } from './common/request-parsing.js';
import type { GatewayConfig } from './config.js';
import { setupOpenApi } from './docs/openapi.js';
import { registerRequestPipeline } from './pipeline/request-pipeline.js';
import { serveWebApp } from './web/web-app.js';

/** Builds and starts the HTTP gateway; returns it listening. */
export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  const app = await createServiceApp(
    {
      service: 'api-gateway',
      logLevel: config.LOG_LEVEL,
      module: (observability) => AppModule.forConfig(config, observability),
      fastify: {
        bodyLimit: config.BODY_LIMIT_BYTES,
        ...connectionTimeouts(config),
        trustProxy: splitList(config.TRUST_PROXY),
        frameworkErrors,
        routerOptions: { maxParamLength: 200 },
      },
      // Our own JSON parser (registerJsonBodyParser) replaces Nest's.
      nest: { bodyParser: false },
    },
    options,
  );
  // Before the controllers' routes are added (at listen), so that the pipeline's hooks reach them.
  registerRequestPipeline(app, config);
  const origins = splitList(config.CORS_ORIGINS);
  if (origins.length > 0) {
    await app.register(fastifyCors, {
      origin: origins.includes('*') ? true : origins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id', BOOKING_ACCESS_KEY_HEADER],
      exposedHeaders: [
        'x-request-id',
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
        'ratelimit-policy',
        'idempotent-replayed',
        NEXT_CURSOR_HEADER,
        LINK_HEADER,
        BOOKING_ACCESS_KEY_HEADER,
      ],
      maxAge: 600,
    });
  }
  setupOpenApi(app);
  await serveWebApp(app, config);
  await app.listen(config.PORT, config.HOST);
  return app;
}

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
