import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { ReplyError, type Redis } from 'ioredis';

/** Delays between probes while Redis is down: decorrelated jitter from about this… */
const PROBE_FIRST_DELAY_MS = 100;
/** …growing to at most this, so Redis is used again at most this long (plus a PING) after it answers. */
export const PROBE_MAX_DELAY_MS = 2_000;
const READY_WAIT_MS = 2_000;

/** A command refused or lost because Redis does not answer. */
export class RedisUnavailableError extends Error {
  constructor(
    message: string,
    /** False when refused unsent (Redis marked down); true when ioredis had it: it may still reach Redis, late. */
    readonly commandSent: boolean,
  ) {
    super(message);
  }
}

type Script<R> = (...keysAndArgs: (string | number)[]) => Promise<R>;

/**
 * Knows whether this gateway's Redis answers, and sends commands only while it
 * does. A command that times out or fails on the connection marks Redis down:
 * from then on every command fails at once, without being sent, so no request
 * pays REDIS_COMMAND_TIMEOUT_MS again during a stall. A background PING, at a
 * back-off that grows to PROBE_MAX_DELAY_MS, marks it up again when it is
 * answered. An error reply (Redis answered) does not mark it down.
 *
 * cockatiel's circuit breaker would refuse calls while open, but it recovers
 * through a trial call of real traffic: a request (an idempotency claim, of all
 * commands) would pay the timeout at every back-off step of a long stall, and
 * nothing would notice recovery while no request comes. So the up/down state is
 * kept here, and cockatiel's retry with its jittered exponential back-off runs
 * the probe.
 */
export class RedisAvailability implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private up = true;
  /** Counts transitions: a failure of a command sent before the last one says nothing about Redis now. */
  private epoch = 0;
  private readonly listeners: ((available: boolean) => void)[] = [];
  private readonly stopProbing = new AbortController();
  private readonly probe = retry(handleAll, {
    maxAttempts: Infinity,
    backoff: new ExponentialBackoff({ initialDelay: PROBE_FIRST_DELAY_MS, maxDelay: PROBE_MAX_DELAY_MS }),
  }).dangerouslyUnref();

  constructor(private readonly redis: Redis) {}

  /** False from a command's timeout or connection failure until a probe is answered. */
  get available(): boolean {
    return this.up;
  }

  /** `listener` hears every transition (true: Redis answers again). */
  onChange(listener: (available: boolean) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A Lua script as a function of its keys and arguments, sent only while Redis
   * is available (ioredis sends the script once per connection, then its SHA).
   */
  defineScript<R>(name: string, numberOfKeys: number, lua: string): Script<R> {
    if (!(name in this.redis)) this.redis.defineCommand(name, { numberOfKeys, lua });
    const command = (this.redis as unknown as Record<string, Script<R>>)[name]!.bind(this.redis);
    return (...keysAndArgs) => this.send(() => command(...keysAndArgs));
  }

  /** Commands of the caller's own, sent only while Redis is available. */
  run<R>(commands: (redis: Redis) => Promise<R>): Promise<R> {
    return this.send(() => commands(this.redis));
  }

  /** Gives Redis a moment to connect before traffic; starts anyway without it (the callers have policies for that). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, READY_WAIT_MS);
      this.redis.once('ready', done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopProbing.abort();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private send<R>(command: () => Promise<R>): Promise<R> {
    if (!this.up) return Promise.reject(new RedisUnavailableError('Redis is unavailable', false));
    const epoch = this.epoch;
    return command().catch((error: unknown) => {
      if (error instanceof ReplyError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (epoch === this.epoch) this.markDown(reason);
      throw new RedisUnavailableError(`Redis is unavailable (${reason})`, true);
    });
  }

  private markDown(reason: string): void {
    this.up = false;
    this.epoch++;
    this.logger.warn(
      `Redis unavailable (${reason}): rate limits are counted per replica and requests with Idempotency-Key get 503 until it answers again`,
    );
    this.notify();
    this.probe
      .execute(({ signal }) => {
        if (signal.aborted) throw new Error('shutting down');
        return this.redis.ping();
      }, this.stopProbing.signal)
      .then(
        () => this.markUp(),
        () => undefined, // only when shutting down
      );
  }

  private markUp(): void {
    this.up = true;
    this.epoch++;
    this.logger.log('Redis answers again: rate limits are shared and Idempotency-Key is honoured again');
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.up);
  }
}
