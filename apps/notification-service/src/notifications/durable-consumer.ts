import { BOOKING_EVENT_SUBJECTS } from '@booking/shared';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { Feature, type NatsConnectionImpl } from '@nats-io/nats-core/internal';

export interface DurableConsumerSettings {
  stream: string;
  durable: string;
  /** The notified event types, and their subjects. */
  types: readonly string[];
  subjects: readonly string[];
  ackWaitMs: number;
  maxAckPending: number;
  log: { warn(message: string): void };
}

/**
 * Creates the durable consumer, or brings an existing one (e.g. made by an earlier version) to this
 * configuration, its subject filter included. JetStream then sends no more unacknowledged messages
 * than `maxAckPending`, and only of the notified types where the server can filter them.
 */
export async function ensureDurableConsumer(
  nats: NatsConnection,
  manager: JetStreamManager,
  { stream, durable, types, subjects, ackWaitMs, maxAckPending, log }: DurableConsumerSettings,
): Promise<void> {
  const filter = subjectFilter(nats, subjects);
  const settings: Partial<ConsumerConfig> = {
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: maxAckPending,
    // Unset fields are dropped: an existing consumer loses a filter it had.
    filter_subject: undefined,
    filter_subjects: undefined,
    ...filter,
  };
  try {
    await manager.consumers.info(stream, durable);
    await manager.consumers.update(stream, durable, settings);
  } catch {
    await manager.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...settings,
    });
  }
  if (!filter) {
    log.warn(
      `nats-server ${nats.info?.version ?? '?'} cannot filter a consumer by several subjects (2.10 can): ` +
        `events other than ${types.join(', ')} are received and acknowledged unread`,
    );
  }
}

/** The consumer's filter for the notified types; undefined when the server cannot express it. */
function subjectFilter(nats: NatsConnection, subjects: readonly string[]): Partial<ConsumerConfig> | undefined {
  if (subjects.length === BOOKING_EVENT_SUBJECTS.length) return {};
  if (subjects.length === 1) return { filter_subject: subjects[0] };
  const features = (nats as NatsConnectionImpl).features;
  return features.supports(Feature.JS_MULTIPLE_CONSUMER_FILTER) ? { filter_subjects: [...subjects] } : undefined;
}
