import { describe, expect, it } from 'vitest';
import { BookingEventType, BookingSubjects, commonEnvSchema, loadConfig, namesFor } from '../src/index.js';

describe('namesFor', () => {
  it('gives the plain names without a namespace', () => {
    const names = namesFor('');
    expect(names).toMatchObject({
      namespace: '',
      eventsStream: 'BOOKING_EVENTS',
      eventSubjects: ['booking.created', 'booking.cancelled', 'booking.failed', 'event.updated'],
      queueGroup: 'booking-service',
      redisKeyPrefix: 'booking:gateway:',
    });
    expect(names.requestSubject(BookingSubjects.reserve)).toBe('booking.reserve');
    expect(names.requestPattern('booking.reserve')).toBe('booking.reserve');
  });

  it('puts the namespace in every name, subjects as their first token', () => {
    const names = namesFor('blue-2');
    expect(names).toMatchObject({
      eventsStream: 'BOOKING_EVENTS_blue-2',
      eventSubjects: [
        'blue-2.booking.created',
        'blue-2.booking.cancelled',
        'blue-2.booking.failed',
        'blue-2.event.updated',
      ],
      queueGroup: 'booking-service-blue-2',
      redisKeyPrefix: 'booking:blue-2:gateway:',
    });
    expect(names.eventSubject(BookingEventType.cancelled)).toBe('blue-2.booking.cancelled');
    expect(names.requestSubject(BookingSubjects.reserveBatch)).toBe('blue-2.booking.reserve.batch');
    expect(names.requestPattern(names.requestSubject(BookingSubjects.cancel))).toBe(BookingSubjects.cancel);
  });

  it('never gives two namespaces a name in common', () => {
    const all = ['', 'a', 'b', 'booking', 'a_b', 'gateway'].map(namesFor);
    const flat = (pick: (names: ReturnType<typeof namesFor>) => string[]) => all.flatMap(pick);
    for (const names of [
      flat((n) => [n.eventsStream]),
      flat((n) => [...n.eventSubjects, ...Object.values(BookingSubjects).map(n.requestSubject)]),
      flat((n) => [n.queueGroup]),
      flat((n) => [n.redisKeyPrefix]),
    ]) {
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('refuses a namespace that is not one subject token, at start-up with the variable named', () => {
    for (const bad of ['a.b', 'a b', 'a*', '>', 'é', 'x'.repeat(33)]) {
      expect(() => loadConfig(commonEnvSchema, { BOOKING_NAMESPACE: bad })).toThrow(
        'Invalid configuration: BOOKING_NAMESPACE: must be at most 32 letters, digits, "-" or "_"',
      );
      expect(() => namesFor(bad)).toThrow();
    }
    expect(loadConfig(commonEnvSchema, { BOOKING_NAMESPACE: 'x'.repeat(32) }).BOOKING_NAMESPACE).toHaveLength(32);
    expect(loadConfig(commonEnvSchema, {}).BOOKING_NAMESPACE).toBe('');
  });
});
