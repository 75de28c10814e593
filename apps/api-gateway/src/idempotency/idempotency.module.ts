import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { IdempotencyStore } from './idempotency.store.js';

@Module({
  imports: [RedisModule],
  providers: [IdempotencyStore],
  exports: [IdempotencyStore],
})
export class IdempotencyModule {}
