import { CircuitState as CircuitStateValue, type GatewayMetrics } from '@booking/observability';
import { ErrorCode, type ServiceError, type ServiceReply } from '@booking/shared';
import { TimeoutError } from '@nats-io/transport-node';
import { HttpException, Logger } from '@nestjs/common';
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
import type { GatewayConfig } from '../config.js';
import {
  atCapacity,
  circuitOpen,
  connectionLost,
  isNoResponders,
  isSuccessReply,
  noReplyInTime,
  replyData,
  unavailable,
  unreachable,
  type CallKind,
} from './booking-errors.js';
import { describe, type NatsTransport } from './nats-transport.js';

/** A timeout this soon after the service answered another request is not the service hanging. */
const ANSWERED_RECENTLY_MS = 1_000;

/** `circuit_breaker_state` values; isolated (held open by hand) counts as open. */
const BREAKER_GAUGE_VALUES: Record<CircuitState, number> = {
  [CircuitState.Closed]: CircuitStateValue.closed,
  [CircuitState.HalfOpen]: CircuitStateValue.halfOpen,
  [CircuitState.Open]: CircuitStateValue.open,
  [CircuitState.Isolated]: CircuitStateValue.open,
};

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

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

/** Retries of "no responders" for about this long: replicas re-subscribing after NATS came back, or one restarting. */
const NO_RESPONDERS_RETRIES = 7;
const NO_RESPONDERS_BACKOFF = { initialDelay: 25, maxDelay: 250 };

/**
 * How the gateway calls the booking service: cockatiel policies (outermost
 * first), one set for commands and one for reads, around a call that gets the
 * request's deadline.
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
 *   is answered at once anyway. A timeout while the service answered another
 *   request within ANSWERED_RECENTLY_MS does not count either: a replica that
 *   died took its requests with it while the others serve, and refusing
 *   everyone would not help;
 * - deadline: NATS_REQUEST_TIMEOUT_MS from the first attempt, sent with each
 *   attempt (NATS header `x-deadline`) and the NATS request's timeout; the
 *   booking service starts no command that could commit after it.
 *
 * While the connection is down every call is refused at once (503); a call
 * whose connection dropped while it waited gets `connectionLost`.
 */
export class ResiliencePolicy {
  private readonly logger = new Logger('BookingClient');
  private readonly breakers: Record<CallKind, CircuitBreakerPolicy>;
  private readonly policies: Record<CallKind, IPolicy>;
  private readonly breakerOpenedAt: Record<CallKind, number> = { command: 0, read: 0 };
  /** When the booking service last answered a request, of either kind. */
  private lastAnswerAt = 0;
  /** Timeouts while the service answered others (ANSWERED_RECENTLY_MS): not counted by the breakers. */
  private readonly timeoutsWhileAnswering = new WeakSet<object>();
  /** Counters for monitoring and tests. */
  readonly counters = { breakerOpened: 0, shedByBulkhead: 0, shortCircuited: 0, retries: 0, noRespondersRetries: 0 };

  constructor(
    private readonly transport: NatsTransport,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
  ) {
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

  /** The state of each circuit breaker. */
  get breakerStates(): Record<CallKind, BreakerState> {
    return { command: BREAKER_STATES[this.breakers.command.state], read: BREAKER_STATES[this.breakers.read.state] };
  }

  /** Runs `call` (one attempt, given the deadline) under the policies of `kind`; its reply's data, or an HTTP error. */
  async execute<T>(
    kind: CallKind,
    subject: string,
    requestId: string | undefined,
    call: (deadline: number) => Promise<ServiceReply<T>>,
  ): Promise<T> {
    const endTimer = this.metrics.natsRequestDuration.startTimer({ subject });
    if (!this.transport.connected) {
      endTimer({ outcome: 'unavailable' });
      throw unreachable();
    }
    const deadline = Date.now() + this.config.NATS_REQUEST_TIMEOUT_MS;
    const disconnectsBefore = this.transport.disconnects;
    let reply: ServiceReply<T>;
    try {
      reply = await this.policies[kind].execute(() => this.attempt(call, deadline));
    } catch (error) {
      const failure =
        this.transport.disconnects !== disconnectsBefore && !isNoResponders(error)
          ? connectionLost(kind)
          : this.failure(kind, subject, requestId, error);
      endTimer({ outcome: failure.getStatus() === 504 ? 'timeout' : 'unavailable' });
      throw failure;
    }
    endTimer({ outcome: isSuccessReply(reply) ? 'ok' : 'rejected' });
    return replyData(subject, reply);
  }

  private async attempt<T>(call: (deadline: number) => Promise<T>, deadline: number): Promise<T> {
    try {
      const reply = await call(deadline);
      this.lastAnswerAt = Date.now();
      return reply;
    } catch (error) {
      if (error instanceof TimeoutError && Date.now() - this.lastAnswerAt < ANSWERED_RECENTLY_MS) {
        this.timeoutsWhileAnswering.add(error);
      }
      throw error;
    }
  }

  private breaker(kind: CallKind): CircuitBreakerPolicy {
    const breaker = circuitBreaker(
      handleWhen((error) => error instanceof TimeoutError && !this.timeoutsWhileAnswering.has(error)),
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

  /** A failure of the policies or the transport as an HTTP error, counted and logged. */
  private failure(kind: CallKind, subject: string, requestId: string | undefined, error: unknown): HttpException {
    if (error instanceof TimeoutError) {
      this.logger.warn({
        correlationId: requestId,
        msg: `${subject}: no reply within ${this.config.NATS_REQUEST_TIMEOUT_MS} ms`,
      });
      return noReplyInTime(kind, this.config.NATS_REQUEST_TIMEOUT_MS);
    }
    if (error instanceof BrokenCircuitError) {
      this.counters.shortCircuited++;
      const reopensAt = this.breakerOpenedAt[kind] + this.config.BREAKER_HALF_OPEN_AFTER_MS;
      return circuitOpen(Math.max(1, Math.ceil((reopensAt - Date.now()) / 1000)));
    }
    if (error instanceof BulkheadRejectedError) {
      this.counters.shedByBulkhead++;
      return atCapacity();
    }
    const reason = isNoResponders(error) ? 'no booking service is running' : describe(error);
    this.logger.warn({ correlationId: requestId, msg: `${subject}: ${reason}` });
    return unavailable();
  }
}
