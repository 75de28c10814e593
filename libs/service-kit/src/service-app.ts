import 'reflect-metadata';
import {
  createHttpMetrics,
  createLogger,
  createMetricsRegistry,
  genReqId,
  installHttpMetrics,
  PinoLoggerService,
  type LogLevel,
  type Observability,
} from '@booking/observability';
import type { DynamicModule, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';

/** How a test or a caller wants a service started. */
export interface StartOptions {
  /** `false` silences all logs (tests). */
  logger?: false;
  /** Where the JSON log lines go instead of standard output. */
  logDestination?: DestinationStream;
}

export interface ServiceAppOptions {
  /** The service's name in its log lines. */
  service: string;
  logLevel: LogLevel;
  /** Standard output written synchronously (see `createLogger`). */
  logSync?: boolean;
  /** The service's root module, given the instance's logger and metrics registry. */
  module: (observability: Observability) => DynamicModule;
  /** Options for Fastify beyond the request id every service generates. */
  fastify?: FastifyServerOptions;
  nest?: NestApplicationOptions;
}

/**
 * A service's Nest application on Fastify, not yet listening: the caller adds
 * what is its own (a NATS listener, the gateway's request pipeline) and then
 * listens. The logger and the metrics registry are made before Nest, whose own
 * logger and the HTTP metrics hooks need them first; shutdown hooks are on.
 */
export async function createServiceApp(
  { service, logLevel, logSync, module, fastify, nest }: ServiceAppOptions,
  options: StartOptions = {},
): Promise<NestFastifyApplication> {
  const logger = createLogger({
    service,
    level: options.logger === false ? 'silent' : logLevel,
    destination: options.logDestination,
    sync: logSync,
  });
  const registry = createMetricsRegistry();
  const adapter = new FastifyAdapter({ genReqId, ...fastify });
  installHttpMetrics(adapter.getInstance(), createHttpMetrics(registry), logger);
  const app = await NestFactory.create<NestFastifyApplication>(module({ logger, registry }), adapter, {
    ...nest,
    logger: new PinoLoggerService(logger),
  });
  app.enableShutdownHooks();
  return app;
}
