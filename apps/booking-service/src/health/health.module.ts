import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { NatsServerConnection } from './nats-server-connection.js';

@Module({ controllers: [HealthController], providers: [NatsServerConnection] })
export class HealthModule {}
