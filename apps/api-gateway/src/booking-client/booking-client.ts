import { CircuitState as CircuitStateValue, type GatewayMetrics } from '@booking/observability';
import {
  BookingSubjects,
  DEADLINE_HEADER,
  ErrorCode,
  HTTP_STATUS_BY_ERROR_CODE,
  namesFor,
  REQUEST_ID_HEADER,
  type BookingNames,
  type BookingView,
  type ReserveCommand,
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
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { OutcomeUnknownException } from '../common/outcome-unknown.exception.js';
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

/** NATS's "no responders" status: no booking-service replica is subscribed, so nobody received the request. */
const isNoResponders = (error: unknown): boolean => error instanceof RequestError && error.isNoResponders();
/** A quick failure of a read that another attempt may not see: anything but a timeout, a full gateway or an open circuit. */
const isQuickReadFailure = (error: unknown): boolean =>
  !(error instanceof TimeoutError) &&
  !(error instanceof BrokenCircuitError) &&
  !(error instanceof BulkheadRejectedError) &&
  !isNoResponders(error);
/** The service says nothing was done for want of its database or of time: a read may be tried again. */
const isRetryableReply = (reply: unknown): boolean => {
  const code = (reply as { error?: Partial<ServiceError> } | undefined)?.error?.code;
  return code === ErrorCode.Unavailable || code === ErrorCode.NotStarted;
};
const isServiceReply = (reply: unknown): reply is ServiceReply<unknown> =>
  typeof reply === 'object' && reply !== null && typeof (reply as { ok?: unknown }).ok === 'boolean';

/** Retries of "no responders" for about this long: replicas re-subscribing after NATS came back, or one restarting. */
const NO_RESPONDERS_RETRIES = 7;
const NO_RESPONDERS_BACKOFF = { initialDelay: 25, maxDelay: 250 };

type Kind = 'command' | 'read';

/**
 * Request/reply to the booking service over NATS, through cockatiel policies
 * (outermost first), one set for commands and one for reads:
 *
 * - bulkhead (shared): at most BOOKING_MAX_IN_FLIGHT requests in flight;
 *   beyond that an immediate 503, so overload never turns into unbounded latency;
 * - "no responders" retried with short backoffs for about a second: nobody
 *   received the request, so even a command is safe to send again, and replicas
 *   re-subscribing after a NATS restart are waited for instead of failing;
 * - retry (reads only): other quick failures and "database unavailable" or
 *   "not started" replies are retried with jittered exponential backoff;
 *   commands never are, since their outcome after a failure is unknown;
 * - circuit breaker, one for commands and one for reads: after
 *   BREAKER_FAILURE_THRESHOLD consecutive timeouts every request of that kind
 *   is answered 503 with Retry-After at once, until a trial request after
 *   BREAKER_HALF_OPEN_AFTER_MS succeeds. Only timeouts count: they are what
 *   holds connections and memory while the service hangs; every other failure
 *   is answered at once anyway;
 * - deadline: each request carries the time the gateway stops waiting
 *   (NATS header `x-deadline`, NATS_REQUEST_TIMEOUT_MS from its first
 *   attempt), which is also the NATS request's timeout; the booking service
 *   starts no command that could commit after it.
 *
 * What each failure means for a command is stated by its status: 503 nothing
 * was done; 504 (`OutcomeUnknownException`) the outcome is unknown. The
 * service's error replies become the contract's HTTP errors.
 */
@Injectable()
export class BookingClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BookingClient.name);
  private connected = false;
  /** Counts NATS disconnects: a request that saw one may have lost its reply to the outage. */
  private disconnects = 0;
  private readonly breakers: Record<Kind, CircuitBreakerPolicy>;
  private readonly policies: Record<Kind, IPolicy>;
  private readonly breakerOpenedAt: Record<Kind, number> = { command: 0, read: 0 };
  private packetId = 0;
  private readonly names: BookingNames;
  /** Counters for monitoring (exposed by the metrics module). */
  readonly counters = {
    breakerOpened: 0,
    shedByBulkhead: 0,
    shortCircuited: 0,
    retries: 0,
    noRespondersRetries: 0,
    sharedReads: 0,
  };
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
    this.names = namesFor(config.BOOKING_NAMESPACE);
    const inFlight = bulkhead(config.BOOKING_MAX_IN_FLIGHT, 0);
    const noResponders = retry(handleWhen(isNoResponders), {
      maxAttempts: NO_RESPONDERS_RETRIES,
      backoff: new ExponentialBackoff(NO_RESPONDERS_BACKOFF),
    });
    noResponders.onRetry(() => this.counters.noRespondersRetries++);
    const readRetry = retry(handleWhen(isQuickReadFailure).orWhenResult(isRetryableReply), {
      maxAttempts: config.READ_RETRIES,
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }),
    });
    readRetry.onRetry(() => this.counters.retries++);
    this.breakers = { command: this.breaker('command'), read: this.breaker('read') };
    this.policies = {
      command: wrap(inFlight, noResponders, this.breakers.command),
      read: wrap(inFlight, readRetry, noResponders, this.breakers.read),
    };
  }

  private breaker(kind: Kind): CircuitBreakerPolicy {
    const breaker = circuitBreaker(
      handleWhen((error) => error instanceof TimeoutError),
      {
        halfOpenAfter: this.config.BREAKER_HALF_OPEN_AFTER_MS,
        breaker: new ConsecutiveBreaker(this.config.BREAKER_FAILURE_THRESHOLD),
      },
    );
    const gauge = this.metrics.circuitBreakerState.labels({ breaker: `booking-service-${kind}s` });
    gauge.set(CircuitStateValue.closed);
    breaker.onStateChange((state) => gauge.set(BREAKER_GAUGE_VALUES[state]));
    breaker.onBreak(() => {
      this.breakerOpenedAt[kind] = Date.now();
      this.counters.breakerOpened++;
      this.logger.warn(
        `Circuit for ${kind}s opened: they are refused for ${this.config.BREAKER_HALF_OPEN_AFTER_MS} ms`,
      );
    });
    breaker.onReset(() => this.logger.log(`Circuit for ${kind}s closed: the booking service answers again`));
    return breaker;
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

  /** The state of each circuit breaker. */
  get breakerStates(): Record<Kind, BreakerState> {
    return { command: BREAKER_STATES[this.breakers.command.state], read: BREAKER_STATES[this.breakers.read.state] };
  }

  /** A command (cancel, create): sent once unless nobody received it. `requestId` travels with it for the logs. */
  request<T>(subject: string, payload: object, requestId: string): Promise<T> {
    return this.command(subject, requestId, (deadline) => this.send<T>(subject, payload, requestId, deadline));
  }

  /**
   * A reservation: a command like the others, but sent with the reservations
   * that reach this gateway at the same moment, in one message.
   */
  reserve(command: ReserveCommand, requestId: string): Promise<BookingView> {
    return this.command(BookingSubjects.reserve, requestId, (deadline) =>
      this.reservations.reserve(command, requestId, deadline),
    );
  }

  /** Once a command is answered, later reads no longer join lookups that may have started before it. */
  private async command<T>(
    subject: string,
    requestId: string,
    call: (deadline: number) => Promise<ServiceReply<T>>,
  ): Promise<T> {
    try {
      return await this.execute('command', subject, requestId, call);
    } finally {
      this.readsInFlight.clear();
    }
  }

  /**
   * A read without side effects: retried on quick failures, and shared by
   * every identical read that arrives while it is in flight. Under a crowd
   * reading one event this turns thousands of lookups a second into a few
   * hundred, and no answer is older than the lookup a request joined.
   */
  query<T>(subject: string, payload: object, requestId?: string): Promise<T> {
    const key = `${subject} ${JSON.stringify(payload)}`;
    const inFlight = this.readsInFlight.get(key);
    if (inFlight) {
      this.counters.sharedReads++;
      return inFlight as Promise<T>;
    }
    const read = this.execute<T>('read', subject, requestId, (deadline) =>
      this.send<T>(subject, payload, requestId, deadline),
    ).finally(() => {
      if (this.readsInFlight.get(key) === read) this.readsInFlight.delete(key);
    });
    this.readsInFlight.set(key, read);
    return read;
  }

  private async execute<T>(
    kind: Kind,
    subject: string,
    requestId: string | undefined,
    call: (deadline: number) => Promise<ServiceReply<T>>,
  ): Promise<T> {
    const endTimer = this.metrics.natsRequestDuration.startTimer({ subject });
    if (!this.connected) {
      endTimer({ outcome: 'unavailable' });
      throw new RetryLaterException('The booking service is unreachable; try again shortly', 503, 1);
    }
    const deadline = Date.now() + this.config.NATS_REQUEST_TIMEOUT_MS;
    const disconnectsBefore = this.disconnects;
    let reply: ServiceReply<T>;
    try {
      reply = await this.policies[kind].execute(() => call(deadline));
    } catch (error) {
      const failure =
        this.disconnects !== disconnectsBefore && !isNoResponders(error)
          ? this.connectionLost(kind)
          : this.transportFailure(kind, subject, requestId, error);
      endTimer({ outcome: failure.getStatus() === 504 ? 'timeout' : 'unavailable' });
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
   * `subject` is the plain pattern; the request travels on the namespace's subject.
   */
  private async send<T>(
    subject: string,
    payload: object,
    requestId: string | undefined,
    deadline: number,
  ): Promise<ServiceReply<T>> {
    const headers = natsHeaders();
    if (requestId) headers.set(REQUEST_ID_HEADER, requestId);
    headers.set(DEADLINE_HEADER, String(deadline));
    const packet = JSON.stringify({ pattern: subject, data: payload, id: String(++this.packetId) });
    const message = await this.nats.unwrap<NatsConnection>().request(this.names.requestSubject(subject), packet, {
      timeout: Math.max(1, deadline - Date.now()),
      headers,
    });
    const reply = message.json<{ response?: ServiceReply<T>; err?: unknown }>();
    if (reply.err !== undefined) throw new Error(`${subject}: the booking service failed: ${describe(reply.err)}`);
    return reply.response as ServiceReply<T>;
  }

  /** The connection dropped while waiting: the reply, if any, was lost with it. */
  private connectionLost(kind: Kind): HttpException {
    if (kind === 'command') {
      return new OutcomeUnknownException(
        'The connection to the booking service was lost before it answered; retry with the same Idempotency-Key to learn the outcome',
      );
    }
    return new RetryLaterException('The connection to the booking service was lost; try again shortly', 503, 1);
  }

  private transportFailure(kind: Kind, subject: string, requestId: string | undefined, error: unknown): HttpException {
    if (error instanceof TimeoutError) {
      this.logger.warn({
        correlationId: requestId,
        msg: `${subject}: no reply within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
      });
      return kind === 'command'
        ? new OutcomeUnknownException(
            `The booking service did not answer within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms; retry with the same Idempotency-Key to learn the outcome`,
          )
        : new GatewayTimeoutException(
            `The booking service did not answer within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
          );
    }
    if (error instanceof BrokenCircuitError) {
      this.counters.shortCircuited++;
      const retryAfter = Math.max(
        1,
        Math.ceil((this.breakerOpenedAt[kind] + this.config.BREAKER_HALF_OPEN_AFTER_MS - Date.now()) / 1000),
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
    const status = HTTP_STATUS_BY_ERROR_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    if (status === HttpStatus.GATEWAY_TIMEOUT) return new OutcomeUnknownException(error.message);
    if (status === HttpStatus.SERVICE_UNAVAILABLE) return new RetryLaterException(error.message, 503, 1);
    return new HttpException(error.message, status);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
