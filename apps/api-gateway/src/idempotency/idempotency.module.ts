import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency.store.js';

/** Imported by the modules whose routes are `@Idempotent()`. */
@Module({
  imports: [RedisModule],
  providers: [IdempotencyStore, IdempotencyInterceptor],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}
