import type { NatsConnection } from '@nats-io/transport-node';
import { Injectable, type INestMicroservice } from '@nestjs/common';

/** The NATS connection the request handlers listen on, for the readiness probe. */
@Injectable()
export class NatsServerConnection {
  private microservice?: INestMicroservice;

  attach(microservice: INestMicroservice): void {
    this.microservice = microservice;
  }

  get(): NatsConnection {
    if (!this.microservice) throw new Error('the NATS listener has not started');
    return this.microservice.unwrap<NatsConnection>();
  }
}
