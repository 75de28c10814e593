import { HTTP_STATUS_BY_ERROR_CODE, type ServiceError, type ServiceReply } from '@booking/shared';
import {
  GatewayTimeoutException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ClientNats } from '@nestjs/microservices';
import { EmptyResponseException } from '@nestjs/microservices/errors/empty-response.exception.js';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';

export const BOOKING_NATS_CLIENT = Symbol('BOOKING_NATS_CLIENT');

/**
 * Request/reply to the booking service over NATS. Every request has a deadline;
 * the service's error replies become the contract's HTTP errors, and transport
 * failures become 503 (nobody answering) or 504 (no answer in time) — never a hang.
 */
@Injectable()
export class BookingClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BookingClient.name);
  private connected = false;
  /** Counts NATS disconnects: a request that saw one lost its reply to the outage (503), it was not slow (504). */
  private disconnects = 0;

  constructor(
    @Inject(BOOKING_NATS_CLIENT) private readonly nats: ClientNats,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.nats.status.subscribe((status) => {
      this.connected = status === 'connected';
      if (status === 'disconnected') this.disconnects += 1;
    });
    await this.nats.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nats.close();
  }

  /** True while the NATS connection is up. */
  isConnected(): boolean {
    return this.connected;
  }

  async request<T>(subject: string, payload: object): Promise<T> {
    if (!this.connected) throw new ServiceUnavailableException('The booking service is unreachable; try again shortly');
    const disconnectsBefore = this.disconnects;
    let reply: ServiceReply<T>;
    try {
      reply = await firstValueFrom(
        this.nats.send<ServiceReply<T>>(subject, payload).pipe(timeout(this.config.NATS_REQUEST_TIMEOUT_MS)),
      );
    } catch (error) {
      // The connection dropped while waiting: the reply is lost with it, so this is an outage (503), not a slow service.
      if (this.disconnects !== disconnectsBefore) {
        throw new ServiceUnavailableException('The connection to the booking service was lost; try again shortly');
      }
      throw this.transportFailure(subject, error);
    }
    if (!reply.ok) throw serviceErrorToHttp(reply.error);
    return reply.data;
  }

  private transportFailure(subject: string, error: unknown): HttpException {
    if (error instanceof TimeoutError) {
      this.logger.warn(`${subject}: no reply within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`);
      return new GatewayTimeoutException(
        `The booking service did not answer within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
      );
    }
    // EmptyResponseException is what a NATS "no responders" status becomes: no replica is subscribed.
    const reason = error instanceof EmptyResponseException ? 'no booking service is running' : describe(error);
    this.logger.warn(`${subject}: ${reason}`);
    return new ServiceUnavailableException('The booking service is unavailable; try again shortly');
  }
}

export function serviceErrorToHttp(error: ServiceError): HttpException {
  return new HttpException(error.message, HTTP_STATUS_BY_ERROR_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR);
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
