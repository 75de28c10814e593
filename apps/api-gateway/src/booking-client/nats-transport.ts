import {
  DEADLINE_HEADER,
  namesFor,
  natsConnectionOptions,
  REQUEST_ID_HEADER,
  type BookingNames,
  type ServiceReply,
} from '@booking/shared';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';

/**
 * The gateway's NATS connection to the booking service, and its one way of
 * sending: a request on the connection's shared reply subscription, carrying
 * the headers `x-request-id` and `x-deadline` and timing out at the deadline.
 * The payload is the packet Nest's NATS transport reads (`{ pattern, data, id }`),
 * and the answer its reply (`{ response, err }`): the booking service is a Nest
 * microservice.
 */
@Injectable()
export class NatsTransport implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NatsTransport.name);
  private nats?: NatsConnection;
  private packetId = 0;
  /** True while the connection is up. */
  connected = false;
  /** Counts disconnects: a request that saw one may have lost its reply to the outage. */
  disconnects = 0;

  private readonly names: BookingNames;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    this.names = namesFor(config.BOOKING_NAMESPACE);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.nats = await connect({
      ...natsConnectionOptions(this.config, 'api-gateway (booking-service client)'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Otherwise every request pre-builds two Error objects (stack traces) in case it fails.
      noAsyncTraces: true,
    });
    this.connected = true;
    void this.followStatus(this.nats);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nats?.close();
  }

  /** The NATS connection (for readiness); throws before it is made. */
  connection(): NatsConnection {
    if (!this.nats) throw new Error('Not connected to NATS yet');
    return this.nats;
  }

  /**
   * Sends `payload` on `subject` (the plain pattern; it travels on the namespace's subject) and returns
   * the booking service's reply; rejects as the NATS request does.
   */
  async request<T>(
    subject: string,
    payload: object,
    requestId: string | undefined,
    deadline: number,
  ): Promise<ServiceReply<T>> {
    const headers = natsHeaders();
    if (requestId) headers.set(REQUEST_ID_HEADER, requestId);
    headers.set(DEADLINE_HEADER, String(deadline));
    const packet = JSON.stringify({ pattern: subject, data: payload, id: String(++this.packetId) });
    const message = await this.connection().request(this.names.requestSubject(subject), packet, {
      timeout: Math.max(1, deadline - Date.now()),
      headers,
    });
    const reply = message.json<{ response?: ServiceReply<T>; err?: unknown }>();
    if (reply.err !== undefined) throw new Error(`${subject}: the booking service failed: ${describe(reply.err)}`);
    return reply.response as ServiceReply<T>;
  }

  private async followStatus(nats: NatsConnection): Promise<void> {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.disconnects += 1;
        this.logger.error('Disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnecting') {
        this.connected = false;
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.logger.log('Reconnected to NATS');
      }
    }
  }
}

export const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
