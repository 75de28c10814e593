import { Module } from '@nestjs/common';
import { WaitlistController } from './waitlist.controller.js';
import { WaitlistRepository } from './waitlist.repository.js';

@Module({
  controllers: [WaitlistController],
  providers: [WaitlistRepository],
})
export class WaitlistModule {}
