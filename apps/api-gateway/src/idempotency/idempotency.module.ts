import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { IdempotencyGuard } from './idempotency.guard.js';
import { IdempotencyStore } from './idempotency.store.js';

/** Imported by the modules whose routes are `@Idempotent()`. */
@Module({
  imports: [RedisModule],
  providers: [IdempotencyStore, IdempotencyGuard],
  exports: [IdempotencyStore, IdempotencyGuard],
})
export class IdempotencyModule {}
