import { createConsumerLagMetrics, METRICS_REGISTRY, type ConsumerInfo, type Registry } from '@booking/observability';
import {
  bookingEventsStreamLimits,
  namesFor,
  natsConnectionOptions,
  parseBookingEvent,
  type BookingEvent,
  type BookingNames,
} from '@booking/shared';
import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from '../config.js';
import { ensureDurableConsumer } from './durable-consumer.js';
import { ensureStreamOrWait } from './events-stream.js';
import { NotificationDispatcher } from './notification-dispatcher.js';

/** Delay before a message whose handling failed (e.g. PostgreSQL down) is offered again. */
const RETRY_DELAY_MS = 1_000;
/**
 * How long one pull request waits on the server. A pull held by a NATS node that is lost (the consumer's
 * leader, in a cluster) is noticed only after two missed heartbeats, half this long each, and only then
 * is the pull sent again: the client's 30 s default stalls consumption that long after a node fails.
 */
const PULL_EXPIRES_MS = 5_000;

/**
 * The durable JetStream consumer of booking events, with explicit acks, taking
 * events in batches: the messages that arrive while a batch is being recorded,
 * or within NOTIFICATION_BATCH_DELAY_MS of the first, form the next one (up to
 * NOTIFICATION_BATCH_SIZE), so a backlog goes in full batches. A message is acknowledged only once
 * its deliveries are recorded, so a crash means redelivery, and the delivery
 * record makes redelivery harmless.
 */
@Injectable()
export class BookingEventsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BookingEventsConsumer.name);
  private readonly shutdown = new AbortController();
  private readonly names: BookingNames;
  /** The subjects of the notified event types. */
  private readonly notified: readonly string[];
  /** Received and not yet acknowledged, offered again or dropped: the heartbeats keep them this replica's. */
  private readonly unsettled = new Set<JsMsg>();
  /** Received, waiting for the next batch. */
  private waiting: JsMsg[] = [];
  /** When the oldest message waiting arrived. */
  private waitingSince = 0;
  /** Starts the next batch once the oldest message waiting has waited NOTIFICATION_BATCH_DELAY_MS. */
  private batchTimer?: NodeJS.Timeout;
  /** The next batch starts after the messages of this turn of the event loop have arrived. */
  private startingAtOnce = false;
  /** A batch is being recorded; the next one waits for it, gathering what arrives meanwhile. */
  private recording = false;
  private readonly batches = new Set<Promise<void>>();
  private heartbeat?: NodeJS.Timeout;
  private nats?: NatsConnection;
  private messages?: ConsumerMessages;
  private connected = false;

  constructor(
    @Inject(NOTIFICATION_SERVICE_CONFIG) private readonly config: NotificationServiceConfig,
    private readonly dispatcher: NotificationDispatcher,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.names = namesFor(config.BOOKING_NAMESPACE);
    this.notified = config.NOTIFICATION_EVENT_TYPES.map(this.names.eventSubject);
    createConsumerLagMetrics(registry, () => this.lag());
  }

  async onApplicationBootstrap(): Promise<void> {
    const nats = await connect({
      ...natsConnectionOptions(this.config, 'notification-service'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    this.nats = nats;
    this.connected = true;
    void this.trackConnection(nats);
    await ensureStreamOrWait(nats, this.names, bookingEventsStreamLimits(this.config), {
      signal: this.shutdown.signal,
      onWait: (stream) => this.logger.log(`Waiting for the booking service to create stream ${stream}`),
    });
    await ensureDurableConsumer(nats, await jetstreamManager(nats), {
      stream: this.names.eventsStream,
      durable: this.config.NOTIFICATION_CONSUMER_NAME,
      types: this.config.NOTIFICATION_EVENT_TYPES,
      subjects: this.notified,
      ackWaitMs: this.config.NOTIFICATION_ACK_WAIT_MS,
      maxAckPending: this.config.NOTIFICATION_MAX_IN_FLIGHT,
      log: this.logger,
    });
    const consumer = await jetstream(nats).consumers.get(
      this.names.eventsStream,
      this.config.NOTIFICATION_CONSUMER_NAME,
    );
    this.messages = await consumer.consume({
      max_messages: this.config.NOTIFICATION_MAX_IN_FLIGHT,
      expires: PULL_EXPIRES_MS,
      callback: (message) => this.take(message),
    });
    // While deliveries run, tell JetStream the messages are still being worked on, so none is redelivered meanwhile.
    this.heartbeat = setInterval(() => {
      for (const message of this.unsettled) message.working();
    }, this.config.NOTIFICATION_ACK_WAIT_MS / 3);
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    clearInterval(this.heartbeat);
    clearTimeout(this.batchTimer);
    await this.messages?.close();
    // Each batch ends at once (its deliveries stop, its events are offered again); so do the ones still waiting.
    await Promise.allSettled([...this.batches]);
    for (const message of this.unsettled) message.nak(RETRY_DELAY_MS);
    this.unsettled.clear();
    await this.nats?.close();
  }

  /** The NATS connection (for readiness); throws before it is made. */
  connection(): NatsConnection {
    if (!this.nats) throw new Error('not connected to NATS yet');
    return this.nats;
  }

  /** Consumer lag as JetStream reports it: messages not yet delivered, and delivered but not acknowledged. */
  async lag(): Promise<ConsumerInfo> {
    const manager = await jetstreamManager(this.connection());
    const info = await manager.consumers.info(this.names.eventsStream, this.config.NOTIFICATION_CONSUMER_NAME);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  /** True while connected to NATS and pulling messages. */
  isConsuming(): boolean {
    return this.connected && this.messages !== undefined && !this.shutdown.signal.aborted;
  }

  /** Called for each message as it arrives. */
  private take(message: JsMsg): void {
    // Only from a server that could not filter the consumer's subjects.
    if (!this.notified.includes(message.subject)) {
      message.ack();
      return;
    }
    this.unsettled.add(message);
    if (this.waiting.length === 0) this.waitingSince = performance.now();
    this.waiting.push(message);
    this.scheduleBatch();
  }

  /**
   * Schedules the next batch, unless one is recording: at once when it is full or the oldest message has
   * waited NOTIFICATION_BATCH_DELAY_MS, else when it will have. A batch costs round trips to
   * PostgreSQL and NATS whatever its size, so a few milliseconds' wait makes each event cheaper.
   */
  private scheduleBatch(): void {
    if (this.recording || this.waiting.length === 0 || this.startingAtOnce) return;
    // Full: as many as a batch takes, or as many as JetStream sends before acknowledgements.
    const full =
      this.waiting.length >= this.config.NOTIFICATION_BATCH_SIZE ||
      this.unsettled.size >= this.config.NOTIFICATION_MAX_IN_FLIGHT;
    const wait = full ? 0 : this.waitingSince + this.config.NOTIFICATION_BATCH_DELAY_MS - performance.now();
    if (wait > 0) {
      this.batchTimer ??= setTimeout(() => this.startBatch(), wait);
      return;
    }
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.startingAtOnce = true;
    setImmediate(() => this.startBatch());
  }

  private startBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.startingAtOnce = false;
    if (this.recording || this.shutdown.signal.aborted) return;
    // What stays waiting has waited at least as long: it goes as soon as this batch is recorded.
    const messages = this.waiting.splice(0, this.config.NOTIFICATION_BATCH_SIZE);
    if (messages.length === 0) return;
    const batch = this.handle(messages).finally(() => this.batches.delete(batch));
    this.batches.add(batch);
  }

  private async handle(messages: JsMsg[]): Promise<void> {
    const taken: JsMsg[] = [];
    const events: BookingEvent[] = [];
    for (const message of messages) {
      try {
        events.push(parseBookingEvent(message.data));
        taken.push(message);
      } catch (error) {
        this.drop(message, `malformed booking event: ${describe(error)}`);
      }
    }
    if (events.length === 0) return;
    const timeout = AbortSignal.timeout(this.config.NOTIFICATION_HANDLE_TIMEOUT_MS);
    const stop = AbortSignal.any([this.shutdown.signal, timeout]);
    this.recording = true;
    let handlings;
    try {
      handlings = await untilAborted(this.dispatcher.dispatch(events, stop), stop);
    } catch (error) {
      this.retry(taken, error, timeout);
      return;
    } finally {
      this.recording = false;
      this.scheduleBatch();
    }
    const failures: unknown[] = [];
    const settled = handlings.map((handling, index) => {
      const message = taken[index]!;
      if ('unstorable' in handling)
        return this.drop(message, `unstorable booking event: ${handling.unstorable.message}`);
      return handling.done.then(
        () => this.settle(message, () => message.ack()),
        (error: unknown) => failures.push(error),
      );
    });
    await untilAborted(Promise.all(settled), stop).catch(() => undefined);
    const unfinished = taken.filter((message) => this.unsettled.has(message));
    if (unfinished.length > 0) this.retry(unfinished, failures[0] ?? stop.reason, timeout);
  }

  /** Offers the messages again after a delay, saying why once for all of them. */
  private retry(messages: JsMsg[], error: unknown, timeout: AbortSignal): void {
    for (const message of messages) this.settle(message, () => message.nak(RETRY_DELAY_MS));
    if (timeout.aborted) {
      this.logger.warn(
        `${messages.length} events not handled within ${this.config.NOTIFICATION_HANDLE_TIMEOUT_MS} ms; offered again later`,
      );
    } else if (!this.shutdown.signal.aborted) {
      this.logger.warn(`${messages.length} events not handled, retrying: ${describe(error)}`);
    }
  }

  /** Redelivering this message can never succeed: drop it, loudly. */
  private drop(message: JsMsg, reason: string): void {
    this.logger.error(`Dropping message ${message.seq} on ${message.subject}: ${reason}`);
    // Without a reason: nats-server before 2.10 ignores a termination that gives one, and redelivers.
    this.settle(message, () => message.term());
  }

  /** Acknowledges, naks or terminates a message once (a batch out of time has offered it again already). */
  private settle(message: JsMsg, how: () => void): void {
    if (this.unsettled.delete(message)) how();
  }

  private async trackConnection(nats: NatsConnection): Promise<void> {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect') this.connected = false;
      if (status.type === 'reconnect') this.connected = true;
    }
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `work`, or a rejection as soon as `signal` aborts: whatever `work` still waits on cannot hold its caller. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
