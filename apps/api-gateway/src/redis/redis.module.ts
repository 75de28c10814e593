import { Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';

export const REDIS = Symbol('REDIS');
const READY_WAIT_MS = 2_000;

/**
 * One ioredis connection for rate limits and idempotency records. Commands
 * fail fast while Redis is away (no offline queue, a command timeout) so each
 * caller applies its own documented policy instead of waiting.
 */
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => {
        const logger = new Logger('Redis');
        const redis = new Redis(config.REDIS_URL, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
          connectTimeout: 2_000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
          lazyConnect: false,
          // Commands issued in the same tick (rate limits of concurrent requests) go out in one write.
          enableAutoPipelining: true,
        });
        let lastError = '';
        redis.on('error', (error: Error) => {
          // ioredis repeats the same error on every reconnect attempt; log changes only.
          if (error.message !== lastError) logger.warn(`Redis: ${error.message}`);
          lastError = error.message;
        });
        redis.on('ready', () => (lastError = ''));
        return redis;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Gives Redis a moment to connect before traffic; starts anyway without it (see the rate-limit policy). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, READY_WAIT_MS);
      this.redis.once('ready', done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
