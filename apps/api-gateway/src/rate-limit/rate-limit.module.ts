import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { RateLimitService } from './rate-limit.service.js';
import { UserRateLimitGuard } from './user-rate-limit.guard.js';

@Module({
  imports: [RedisModule],
  providers: [RateLimitService, UserRateLimitGuard],
  exports: [RateLimitService, UserRateLimitGuard],
})
export class RateLimitModule {}
