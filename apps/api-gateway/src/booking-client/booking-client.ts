import { CircuitState as CircuitStateValue, type GatewayMetrics } from '@booking/observability';
import {
  BookingSubjects,
  ErrorCode,
  HTTP_STATUS_BY_ERROR_CODE,
  REQUEST_ID_HEADER,
  type BookingView,
  type ReserveBookingCommand,
  type ServiceError,
  type ServiceReply,
} from '@booking/shared';
import { headers as natsHeaders, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import {
  GatewayTimeoutException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ClientNats } from '@nestjs/microservices';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { RetryLaterException } from '../common/retry-later.exception.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { GATEWAY_METRICS } from '../metrics/gateway-metrics.module.js';
import { ReservationGatherer } from './reservation-gatherer.js';

export const BOOKING_NATS_CLIENT = Symbol('BOOKING_NATS_CLIENT');

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** `circuit_breaker_state` values; isolated (held open by hand) counts as open. */
const BREAKER_GAUGE_VALUES: Record<CircuitState, number> = {
  [CircuitState.Closed]: CircuitStateValue.closed,
  [CircuitState.HalfOpen]: CircuitStateValue.halfOpen,
  [CircuitState.Open]: CircuitStateValue.open,
  [CircuitState.Isolated]: CircuitStateValue.open,
};

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** The booking service is away or hung: no responders, no reply in time, or a dead connection. */
const isTransportFailure = (error: unknown): boolean =>
  !(error instanceof BrokenCircuitError) && !(error instanceof BulkheadRejectedError);
/** Its database is away: the reply says so. */
const isUnavailableReply = (reply: unknown): boolean =>
  (reply as { error?: Partial<ServiceError> } | undefined)?.error?.code === ErrorCode.Unavailable;
/** NATS's "no responders" status: no booking-service replica is subscribed. */
const isNoResponders = (error: unknown): boolean => error instanceof RequestError && error.isNoResponders();
const isServiceReply = (reply: unknown): reply is ServiceReply<unknown> =>
  typeof reply === 'object' && reply !== null && typeof (reply as { ok?: unknown }).ok === 'boolean';

/**
 * Request/reply to the booking service over NATS, through one set of cockatiel
 * policies (outermost first):
 *
 * - bulkhead: at most BOOKING_MAX_IN_FLIGHT requests in flight; beyond that an
 *   immediate 503, so overload never turns into unbounded latency;
 * - retry (reads only): quick failures (no responders, database unavailable)
 *   are retried with jittered exponential backoff; commands never are, since
 *   their outcome after a failure is unknown;
 * - circuit breaker: after BREAKER_FAILURE_THRESHOLD consecutive failures every
 *   request is answered 503 with Retry-After at once, until a trial request
 *   after BREAKER_HALF_OPEN_AFTER_MS succeeds;
 * - timeout: NATS_REQUEST_TIMEOUT_MS per attempt, then 504. It is the NATS
 *   request's own timeout: a cockatiel timeout policy would add an
 *   AbortController and a DOMException to every request (about 4 % of the
 *   gateway's CPU in a flash sale) to do the same.
 *
 * The policies apply to each request, also to reservations, which travel
 * together (`ReservationGatherer`). The service's error replies become the
 * contract's HTTP errors.
 */
@Injectable()
export class BookingClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BookingClient.name);
  private connected = false;
  /** Counts NATS disconnects: a request that saw one lost its reply to the outage (503), it was not slow (504). */
  private disconnects = 0;
  private readonly breaker;
  private readonly commandPolicy: IPolicy;
  private readonly queryPolicy: IPolicy;
  private breakerOpenedAt = 0;
  private packetId = 0;
  /** Counters for monitoring (exposed by the metrics module). */
  readonly counters = { breakerOpened: 0, shedByBulkhead: 0, shortCircuited: 0, retries: 0, sharedReads: 0 };
  /** Reads on their way to the booking service, by subject and payload. */
  private readonly readsInFlight = new Map<string, Promise<unknown>>();
  readonly reservations = new ReservationGatherer(this.send.bind(this), (size) =>
    this.metrics.reservationsPerMessage.observe(size),
  );

  constructor(
    @Inject(BOOKING_NATS_CLIENT) private readonly nats: ClientNats,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_METRICS) private readonly metrics: GatewayMetrics,
  ) {
    const failures = handleWhen(isTransportFailure).orWhenResult(isUnavailableReply);
    this.breaker = circuitBreaker(failures, {
      halfOpenAfter: config.BREAKER_HALF_OPEN_AFTER_MS,
      breaker: new ConsecutiveBreaker(config.BREAKER_FAILURE_THRESHOLD),
    });
    const breakerGauge = metrics.circuitBreakerState.labels({ breaker: 'booking-service' });
    breakerGauge.set(CircuitStateValue.closed);
    this.breaker.onStateChange((state) => breakerGauge.set(BREAKER_GAUGE_VALUES[state]));
    this.breaker.onBreak(() => {
      this.breakerOpenedAt = Date.now();
      this.counters.breakerOpened++;
      this.logger.warn(`Circuit opened: booking requests are refused for ${config.BREAKER_HALF_OPEN_AFTER_MS} ms`);
    });
    this.breaker.onReset(() => this.logger.log('Circuit closed: the booking service answers again'));
    const inFlight = bulkhead(config.BOOKING_MAX_IN_FLIGHT, 0);
    const readRetry = retry(
      handleWhen((error) => isTransportFailure(error) && !(error instanceof TimeoutError)).orWhenResult(
        isUnavailableReply,
      ),
      { maxAttempts: config.READ_RETRIES, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }) },
    );
    readRetry.onRetry(() => this.counters.retries++);
    this.commandPolicy = wrap(inFlight, this.breaker);
    this.queryPolicy = wrap(inFlight, readRetry, this.breaker);
  }

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

  /** The underlying NATS connection (for readiness); throws before the first connect. */
  connection(): NatsConnection {
    return this.nats.unwrap<NatsConnection>();
  }

  /** True while the NATS connection is up. */
  isConnected(): boolean {
    return this.connected;
  }

  get breakerState(): BreakerState {
    return BREAKER_STATES[this.breaker.state];
  }

  /** A command (cancel, create): sent once, never retried. `requestId` travels with it for the logs. */
  request<T>(subject: string, payload: object, requestId: string): Promise<T> {
    return this.command(subject, requestId, () => this.send<T>(subject, payload, requestId));
  }

  /**
   * A reservation: a command like the others, but sent with the reservations
   * that reach this gateway at the same moment, in one message.
   */
  reserve(command: ReserveBookingCommand, requestId: string): Promise<BookingView> {
    return this.command(BookingSubjects.reserve, requestId, () => this.reservations.reserve(command, requestId));
  }

  /** Once a command is answered, later reads no longer join lookups that may have started before it. */
  private async command<T>(subject: string, requestId: string, call: () => Promise<ServiceReply<T>>): Promise<T> {
    try {
      return await this.execute(this.commandPolicy, subject, requestId, call);
    } finally {
      this.readsInFlight.clear();
    }
  }

  /**
   * A read without side effects: retried on quick transport failures, and
   * shared by every identical read that arrives while it is in flight. Under a
   * crowd reading one event this turns thousands of lookups a second into a
   * few hundred, and no answer is older than the lookup a request joined.
   */
  query<T>(subject: string, payload: object, requestId?: string): Promise<T> {
    const key = `${subject} ${JSON.stringify(payload)}`;
    const inFlight = this.readsInFlight.get(key);
    if (inFlight) {
      this.counters.sharedReads++;
      return inFlight as Promise<T>;
    }
    const read = this.execute<T>(this.queryPolicy, subject, requestId, () =>
      this.send<T>(subject, payload, requestId),
    ).finally(() => {
      if (this.readsInFlight.get(key) === read) this.readsInFlight.delete(key);
    });
    this.readsInFlight.set(key, read);
    return read;
  }

  private async execute<T>(
    policy: IPolicy,
    subject: string,
    requestId: string | undefined,
    call: () => Promise<ServiceReply<T>>,
  ): Promise<T> {
    const endTimer = this.metrics.natsRequestDuration.startTimer({ subject });
    if (!this.connected) {
      endTimer({ outcome: 'unavailable' });
      throw new RetryLaterException('The booking service is unreachable; try again shortly', 503, 1);
    }
    const disconnectsBefore = this.disconnects;
    let reply: ServiceReply<T>;
    try {
      reply = await policy.execute(call);
    } catch (error) {
      // The connection dropped while waiting: the reply is lost with it, so this is an outage (503), not a slow service.
      if (this.disconnects !== disconnectsBefore) {
        endTimer({ outcome: 'unavailable' });
        throw new RetryLaterException('The connection to the booking service was lost; try again shortly', 503, 1);
      }
      const failure = this.transportFailure(subject, requestId, error);
      endTimer({ outcome: failure instanceof GatewayTimeoutException ? 'timeout' : 'unavailable' });
      throw failure;
    }
    endTimer({ outcome: isServiceReply(reply) && reply.ok ? 'ok' : 'rejected' });
    // Not our contract: a bug or a stranger on the subject. Logged, answered 500 without details.
    if (!isServiceReply(reply)) throw new Error(`${subject}: malformed reply from the booking service`);
    if (!reply.ok) throw serviceErrorToHttp(reply.error);
    return reply.data;
  }

  /**
   * One request on the connection's shared reply subscription (`request`),
   * rather than ClientProxy.send, which subscribes and unsubscribes a fresh
   * inbox per request: a third of the protocol writes on the hot path. The
   * payload is Nest's NATS packet, which the booking service's transport reads.
   */
  private async send<T>(subject: string, payload: object, requestId: string | undefined): Promise<ServiceReply<T>> {
    const headers = natsHeaders();
    if (requestId) headers.set(REQUEST_ID_HEADER, requestId);
    const packet = JSON.stringify({ pattern: subject, data: payload, id: String(++this.packetId) });
    const message = await this.nats.unwrap<NatsConnection>().request(subject, packet, {
      timeout: this.config.NATS_REQUEST_TIMEOUT_MS,
      headers,
    });
    const reply = message.json<{ response?: ServiceReply<T>; err?: unknown }>();
    if (reply.err !== undefined) throw new Error(`${subject}: the booking service failed: ${describe(reply.err)}`);
    return reply.response as ServiceReply<T>;
  }

  private transportFailure(subject: string, requestId: string | undefined, error: unknown): HttpException {
    if (error instanceof TimeoutError) {
      this.logger.warn({
        correlationId: requestId,
        msg: `${subject}: no reply within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
      });
      return new GatewayTimeoutException(
        `The booking service did not answer within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
      );
    }
    if (error instanceof BrokenCircuitError) {
      this.counters.shortCircuited++;
      const retryAfter = Math.max(
        1,
        Math.ceil((this.breakerOpenedAt + this.config.BREAKER_HALF_OPEN_AFTER_MS - Date.now()) / 1000),
      );
      return new RetryLaterException(
        `The booking service is failing; requests are paused, retry in ${retryAfter} s`,
        503,
        retryAfter,
      );
    }
    if (error instanceof BulkheadRejectedError) {
      this.counters.shedByBulkhead++;
      return new RetryLaterException('The gateway is at capacity; retry shortly', 503, 1);
    }
    const reason = isNoResponders(error) ? 'no booking service is running' : describe(error);
    this.logger.warn({ correlationId: requestId, msg: `${subject}: ${reason}` });
    return new RetryLaterException('The booking service is unavailable; try again shortly', 503, 1);
  }
}

/**
 * The service's answer as an HTTP error. Built without a stack trace: it is an
 * answer (409 sold out, 404), not a fault of this code, and capturing one for
 * every refused buyer cost 1.5 % of the gateway's CPU in a flash sale.
 */
export function serviceErrorToHttp(error: ServiceError): HttpException {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HttpException(error.message, HTTP_STATUS_BY_ERROR_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
