import { BookingEventType, bookingEventSchema, parseBookingEvent } from '@booking/shared';
import { TestDatabase } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookingRepository } from '../src/booking/booking.repository.js';
import { Reservations } from '../src/booking/reservations.js';
import { EventsRepository } from '../src/events/events.repository.js';
import { toBookingEvent, type OutboxEventRow } from '../src/outbox/outbox-events.js';

const LATER = Date.now() + 3_600_000;

/**
 * The events' data is built in SQL (jsonb_build_object) by every statement that
 * writes the outbox; here each of those statements runs against PostgreSQL and
 * what it wrote is read back as the relay reads it and parsed with the contract.
 */
describe('outbox rows meet the booking event contract (real PostgreSQL)', () => {
  let db: TestDatabase;
  let repository: BookingRepository;
  let reservations: Reservations;

  beforeAll(async () => {
    db = await TestDatabase.create();
    repository = new BookingRepository(db.connection);
    reservations = new Reservations(repository, { warn: () => undefined });
  });
  afterAll(async () => {
    await db?.drop();
  });

  const written = async (correlationPrefix: string) =>
    (
      await db.query<OutboxEventRow>(
        'SELECT id, type, occurred_at, correlation_id, data FROM outbox WHERE correlation_id LIKE $1 ORDER BY correlation_id',
        [`${correlationPrefix}%`],
      )
    ).rows;

  const expectContract = (rows: OutboxEventRow[]) => {
    for (const row of rows) {
      const event = toBookingEvent(row);
      // `.strict()` on each variant: a field the SQL adds that the contract does not name fails too.
      const variant = bookingEventSchema.options.find((option) => option.shape.type.value === event.type)!;
      expect(() => variant.extend({ data: variant.shape.data.strict() }).strict().parse(event)).not.toThrow();
      expect(parseBookingEvent(JSON.stringify(event))).toEqual(event);
    }
  };

  it("an organiser's changes write event.updated, and a refusal outside the window booking.failed, as the contract says", async () => {
    const events = new EventsRepository(db.connection);
    const eventId = await db.createEvent(5);
    await reservations.reserve({ event_id: eventId, user_id: 'early' }, 'organiser-booked', LATER);
    const changes = { total_seats: 7, venue: 'Hall 1', starts_at: '2099-01-01T18:00:00.000Z' };
    await events.update({ kind: 'change', id: eventId, actor: 'organiser', changes }, 'organiser-change', LATER);
    await events.update({ kind: 'close_sales', id: eventId, actor: 'organiser' }, 'organiser-close', LATER);
    await reservations.reserve({ event_id: eventId, user_id: 'late' }, 'organiser-refused', LATER);

    const rows = await written('organiser-');
    expect(rows.map((row) => [row.correlation_id, row.type])).toEqual([
      ['organiser-booked', BookingEventType.created],
      ['organiser-change', BookingEventType.eventUpdated],
      ['organiser-close', BookingEventType.eventUpdated],
      ['organiser-refused', BookingEventType.failed],
    ]);
    expectContract(rows);
    const [, change, close, refused] = rows.map(toBookingEvent);
    expect(change!.data).toEqual({
      event_id: eventId,
      action: 'change',
      actor: 'organiser',
      changes: {
        total_seats: { from: 5, to: 7 },
        venue: { from: null, to: 'Hall 1' },
        starts_at: { from: null, to: '2099-01-01T18:00:00.000Z' },
      },
      booked_seats: 1,
    });
    expect(close!.data).toMatchObject({ action: 'close_sales', changes: { sales_close_at: { from: null } } });
    expect(refused!.data).toEqual({
      event_id: eventId,
      user_id: 'late',
      reason: 'sales_closed',
      message: `Sales for event ${eventId} have closed`,
    });
  });

  it('every statement that writes the outbox writes events the schema accepts, as the relay publishes them', async () => {
    const eventId = await db.createEvent(3);
    // One reservation (one statement), a batch (read, then write), a batch on the seats last seen, refusals, a cancel.
    const single = await reservations.reserve({ event_id: eventId, user_id: 'single' }, 'contract-single', LATER);
    await reservations.reserveMany(
      [
        { event_id: eventId, user_id: 'batch-1' },
        { event_id: eventId, user_id: 'batch-1' },
      ],
      ['contract-batch-0', 'contract-batch-1'],
      LATER,
    );
    await reservations.reserveMany(
      [
        { event_id: eventId, user_id: 'unread-1' },
        { event_id: 999_999, user_id: 'unread-2' },
      ],
      ['contract-unread-0', 'contract-unread-1'],
      LATER,
    );
    await reservations.reserveMany(
      [
        { event_id: eventId, user_id: 'late-1' },
        { event_id: eventId, user_id: 'late-2' },
      ],
      ['contract-late-0', 'contract-late-1'],
      LATER,
    );
    await reservations.reserve({ event_id: eventId, user_id: 'late-3' }, 'contract-refused', LATER);
    if (!('booking' in single)) throw new Error('the first reservation should have booked');
    await reservations.cancel(single.booking.id, 'contract-cancel', LATER);

    const rows = await written('contract-');
    expect(rows.map((row) => [row.correlation_id, row.type])).toEqual([
      ['contract-batch-0', BookingEventType.created],
      ['contract-batch-1', BookingEventType.failed],
      ['contract-cancel', BookingEventType.cancelled],
      ['contract-late-0', BookingEventType.failed],
      ['contract-late-1', BookingEventType.failed],
      ['contract-refused', BookingEventType.failed],
      ['contract-single', BookingEventType.created],
      ['contract-unread-0', BookingEventType.created],
      ['contract-unread-1', BookingEventType.failed],
    ]);
    expectContract(rows);
    const created = toBookingEvent(rows.find((row) => row.correlation_id === 'contract-single')!);
    expect(created.data).toEqual({
      booking_id: single.booking.id,
      event_id: eventId,
      user_id: 'single',
      created_at: single.booking.created_at,
    });
  });
});
