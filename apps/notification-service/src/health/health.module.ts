import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [NotificationsModule], controllers: [HealthController] })
export class HealthModule {}
