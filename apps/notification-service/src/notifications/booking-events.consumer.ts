import {
  createConsumerLagMetrics,
  METRICS_REGISTRY,
  runWithCorrelationId,
  type ConsumerInfo,
  type Registry,
} from '@booking/observability';
import {
  BOOKING_EVENTS_STREAM,
  ensureBookingEventsStream,
  parseBookingEvent,
  type BookingEvent,
} from '@booking/shared';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from '../config.js';
import { NotificationDispatcher } from './notification-dispatcher.js';

/** Delay before a message whose handling failed (e.g. PostgreSQL down) is offered again. */
const RETRY_DELAY_MS = 1_000;

/**
 * The durable JetStream consumer of booking events, with explicit acks: a
 * message is acknowledged only after its deliveries are recorded, so a crash
 * means redelivery, and the delivery record makes redelivery harmless.
 */
@Injectable()
export class BookingEventsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BookingEventsConsumer.name);
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private nats?: NatsConnection;
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private connected = false;

  constructor(
    @Inject(NOTIFICATION_SERVICE_CONFIG) private readonly config: NotificationServiceConfig,
    private readonly dispatcher: NotificationDispatcher,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    createConsumerLagMetrics(registry, () => this.lag());
  }

  async onApplicationBootstrap(): Promise<void> {
    const nats = await connect({
      servers: this.config.NATS_URL,
      name: 'notification-service',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    this.nats = nats;
    this.connected = true;
    void this.trackConnection(nats);
    // The booking service creates the stream too; whoever starts first does it.
    await ensureBookingEventsStream(nats);
    const durable = this.config.NOTIFICATION_CONSUMER_NAME;
    const manager = await jetstreamManager(nats);
    const settings = {
      ack_wait: nanos(this.config.NOTIFICATION_ACK_WAIT_MS),
      max_ack_pending: this.config.NOTIFICATION_MAX_IN_FLIGHT,
    };
    try {
      await manager.consumers.info(BOOKING_EVENTS_STREAM, durable);
      await manager.consumers.update(BOOKING_EVENTS_STREAM, durable, settings);
    } catch {
      await manager.consumers.add(BOOKING_EVENTS_STREAM, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...settings,
      });
    }
    const consumer = await jetstream(nats).consumers.get(BOOKING_EVENTS_STREAM, durable);
    this.messages = await consumer.consume({ max_messages: this.config.NOTIFICATION_MAX_IN_FLIGHT });
    this.loop = this.run(this.messages);
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await this.messages?.close();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
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
    const info = await manager.consumers.info(BOOKING_EVENTS_STREAM, this.config.NOTIFICATION_CONSUMER_NAME);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  /** True while connected to NATS and pulling messages. */
  isConsuming(): boolean {
    return this.connected && this.messages !== undefined && !this.shutdown.signal.aborted;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    // Concurrency is bounded by max_ack_pending: the server sends no more unacknowledged messages than that.
    for await (const message of messages) {
      const task = this.handle(message).finally(() => this.inFlight.delete(task));
      this.inFlight.add(task);
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    let event: BookingEvent;
    try {
      event = parseBookingEvent(message.data);
    } catch (error) {
      // Redelivering a malformed message can never succeed: drop it, loudly.
      this.logger.error(`Dropping malformed message ${message.seq} on ${message.subject}: ${describe(error)}`);
      message.term('malformed booking event');
      return;
    }
    // While retries run, tell JetStream the message is still being worked on, so it is not redelivered meanwhile.
    const heartbeat = setInterval(() => message.working(), this.config.NOTIFICATION_ACK_WAIT_MS / 3);
    const giveUp = AbortSignal.timeout(this.config.NOTIFICATION_HANDLE_TIMEOUT_MS);
    const stop = AbortSignal.any([this.shutdown.signal, giveUp]);
    try {
      // The request's correlation id, stored with the event, is on every log line about it here too.
      await runWithCorrelationId(event.correlation_id, () => untilAborted(this.dispatcher.dispatch(event, stop), stop));
      message.ack();
    } catch (error) {
      if (giveUp.aborted) {
        this.logger.warn(
          `Event ${event.id} not handled within ${this.config.NOTIFICATION_HANDLE_TIMEOUT_MS} ms; offered again later`,
        );
      } else if (!this.shutdown.signal.aborted) {
        this.logger.warn(`Event ${event.id} not handled, retrying: ${describe(error)}`);
      }
      message.nak(RETRY_DELAY_MS);
    } finally {
      clearInterval(heartbeat);
    }
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
