import { z } from 'zod';
import { BOOKING_EVENT_SUBJECTS, type BookingEventType } from './booking-events.js';

export const NAMESPACE_MAX_LENGTH = 32;

/**
 * BOOKING_NAMESPACE: separates deployments (or test and benchmark runs) that share one NATS and one
 * Redis. Empty, the default, gives the plain names. Only letters, digits, "-" and "_", so that it is
 * one NATS subject token and valid in a stream name.
 */
export const namespaceSchema = z
  .string()
  .regex(new RegExp(`^[A-Za-z0-9_-]{0,${NAMESPACE_MAX_LENGTH}}$`), {
    error: `must be at most ${NAMESPACE_MAX_LENGTH} letters, digits, "-" or "_"`,
  })
  .default('');

/** Every name on NATS and Redis that a deployment owns; see `namesFor`. */
export interface BookingNames {
  namespace: string;
  /** JetStream stream holding the booking events. */
  eventsStream: string;
  /** Subjects the stream captures, one per event type. */
  eventSubjects: readonly string[];
  /** The subject an event of `type` is published on. */
  eventSubject(type: BookingEventType): string;
  /** The subject a request of `pattern` (one of `BookingSubjects`) travels on. */
  requestSubject(pattern: string): string;
  /** The pattern of a request that arrived on `subject` (the inverse of `requestSubject`). */
  requestPattern(subject: string): string;
  /** Queue group of the booking-service replicas. */
  queueGroup: string;
  /** Prefix of the gateway's Redis keys (idempotency records, rate-limit counters). */
  redisKeyPrefix: string;
}

/**
 * The names of one deployment. With an empty namespace they are the plain ones (`BOOKING_EVENTS`,
 * `booking.created`, `booking.reserve`, `booking:gateway:`); with namespace `blue` they are
 * `BOOKING_EVENTS_blue`, `blue.booking.created`, `blue.booking.reserve`, `booking:blue:gateway:`.
 * Subjects take the namespace as their first token, so NATS permissions can grant a deployment `blue.>`.
 * Durable consumers need no namespace: their names are scoped by the stream.
 */
export function namesFor(namespace: string): BookingNames {
  namespace = namespaceSchema.parse(namespace);
  const prefix = namespace ? `${namespace}.` : '';
  const suffix = namespace ? `_${namespace}` : '';
  const subject = (name: string) => prefix + name;
  return {
    namespace,
    eventsStream: `BOOKING_EVENTS${suffix}`,
    eventSubjects: BOOKING_EVENT_SUBJECTS.map(subject),
    eventSubject: subject,
    requestSubject: subject,
    requestPattern: (name) => (name.startsWith(prefix) ? name.slice(prefix.length) : name),
    queueGroup: namespace ? `booking-service-${namespace}` : 'booking-service',
    redisKeyPrefix: namespace ? `booking:${namespace}:gateway:` : 'booking:gateway:',
  };
}
