import { namesFor, natsConnectionOptions } from '@booking/shared';
import { createServiceApp, type StartOptions } from '@booking/service-kit';
import type { INestApplication } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { AppModule } from './app.module.js';
import type { BookingServiceConfig } from './config.js';
import { NatsServerConnection } from './health/nats-server-connection.js';
import { NamespacedNatsServer } from './namespaced-nats-server.js';

/**
 * Starts one booking-service replica: NATS request handlers on the namespace's
 * subjects, in its queue group (so replicas split the work), and a small HTTP
 * listener for health and metrics.
 */
export async function startBookingService(
  config: BookingServiceConfig,
  options: StartOptions = {},
): Promise<INestApplication> {
  const app = await createServiceApp(
    {
      service: 'booking-service',
      logLevel: config.LOG_LEVEL,
      module: (observability) => AppModule.forConfig(config, observability),
      nest: { bufferLogs: false },
    },
    options,
  );
  const names = namesFor(config.BOOKING_NAMESPACE);
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    {
      strategy: new NamespacedNatsServer(
        {
          ...natsConnectionOptions(config, 'booking-service'),
          queue: names.queueGroup,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // Stop taking new requests first, then let in-flight ones finish.
          gracefulShutdown: true,
          gracePeriod: 2_000,
        },
        names.requestSubject,
      ),
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  app.get(NatsServerConnection).attach(microservice);
  await app.listen(config.BOOKING_SERVICE_PORT, '0.0.0.0');
  return app;
}
