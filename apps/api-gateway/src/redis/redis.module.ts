import { readFileSync } from 'node:fs';
import type { GatewayMetrics } from '@booking/observability';
import { Logger, Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GATEWAY_METRICS } from '../metrics/gateway-metrics.module.js';
import { RedisAvailability } from './redis-availability.js';

/** A connection that received nothing for this long while waiting for replies is dead (at least 2 command timeouts). */
export const SOCKET_TIMEOUT_MS = 5_000;

/**
 * One ioredis connection for rate limits and idempotency records, used only
 * through `RedisAvailability`. Nothing waits for Redis and nothing is sent
 * twice: no offline queue (a command while disconnected fails at once), a
 * command timeout, commands in flight fail when the connection drops
 * (`maxRetriesPerRequest: 0`) and are never resent after a reconnect
 * (`autoResendUnfulfilledCommands: false`): a claim or a counter increment the
 * caller already gave up on must not run later. A socket that stays silent
 * (a failover that left it dangling) is dropped and reconnected.
 */
@Module({
  providers: [
    {
      provide: RedisAvailability,
      inject: [GATEWAY_CONFIG, GATEWAY_METRICS],
      useFactory: (config: GatewayConfig, metrics: GatewayMetrics) => {
        const logger = new Logger('Redis');
        const redis = new Redis(config.REDIS_URL, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
          commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
          socketTimeout: Math.max(SOCKET_TIMEOUT_MS, 2 * config.REDIS_COMMAND_TIMEOUT_MS),
          connectTimeout: 2_000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
          lazyConnect: false,
          // Commands issued in the same tick (rate limits of concurrent requests) go out in one write.
          enableAutoPipelining: true,
          // A rediss:// URL alone is TLS verified against the system's CAs.
          ...(config.REDIS_TLS_CA_FILE !== undefined && { tls: { ca: readFileSync(config.REDIS_TLS_CA_FILE) } }),
        });
        let lastError = '';
        redis.on('error', (error: Error) => {
          // ioredis repeats the same error on every reconnect attempt; log changes only.
          if (error.message !== lastError) logger.warn(`Redis: ${error.message}`);
          lastError = error.message;
        });
        redis.on('ready', () => (lastError = ''));
        const availability = new RedisAvailability(redis);
        metrics.redisAvailable.set(1);
        availability.onChange((available) => metrics.redisAvailable.set(available ? 1 : 0));
        return availability;
      },
    },
  ],
  exports: [RedisAvailability],
})
export class RedisModule {}
