import { QUEUE_STATES, type QueueStatusView, type QueueTicketView, type WaitingRoomView } from '@booking/shared';
import { z } from 'zod';

// Response shapes for the OpenAPI document, checked against the shared view types (as docs/api-schemas.ts).

const timeOrNull = (description: string) => z.iso.datetime().nullable().meta({ description });

export const waitingRoomViewSchema = z
  .object({
    event_id: z.number().int(),
    admissions_per_second: z.number().int().meta({ description: 'The pace now: as set, or where adaptation took it' }),
    booking_p99_target_ms: z
      .number()
      .int()
      .nullable()
      .meta({ description: "The reservations' p99 the pace adapts to; null: a fixed pace" }),
    max_admissions_per_second: z.number().int().meta({ description: 'The highest pace adaptation may reach' }),
    join_opens_before_s: z.number().int(),
    join_opens_at: timeOrNull('When joining starts; null: open (the event has no sales opening)'),
    sales_open_at: timeOrNull('When sales open and admission starts; null: on sale now'),
    state: z.enum(['not_open', 'early', 'admitting', 'closed']).meta({
      description:
        'not_open: joining has not started; early: joining, places drawn at random; admitting: sales are open; closed: sold out',
    }),
    waiting: z.number().int().meta({ description: 'Places not yet admitted' }),
    admitted: z.number().int().meta({ description: 'Admission tokens given so far' }),
  })
  .meta({ id: 'WaitingRoom' }) satisfies z.ZodType<WaitingRoomView>;

export const queueStatusViewSchema = z
  .object({
    event_id: z.number().int(),
    user_id: z.string(),
    state: z.enum(QUEUE_STATES).meta({
      description:
        'early: joined before the opening, place drawn at random (may still change); waiting: in arrival order; ' +
        'seats_held: the turn has come but every seat left is held by someone admitted before (one given back ' +
        'goes to those told seats_held, earliest first); ' +
        'admitted: may book now with admission_token; used: booked with it; expired: the turn passed unused; ' +
        'closed: sold out; off: the waiting room was switched off (book directly)',
    }),
    position: z.number().int().nullable().meta({ description: '1-based place in the queue' }),
    ahead: z.number().int().meta({ description: 'People ahead still waiting' }),
    estimated_wait_s: z.number().int().nullable(),
    sales_open_at: z.iso.datetime().nullable(),
    admission_token: z.string().optional().meta({ description: 'Send as the Admission-Token header to reserve' }),
    admission_expires_at: z.iso.datetime().optional(),
  })
  .meta({ id: 'QueueStatus' }) satisfies z.ZodType<QueueStatusView>;

export const queueTicketViewSchema = queueStatusViewSchema
  .extend({ ticket: z.string().meta({ description: 'Names this place; show it to follow it' }) })
  .meta({ id: 'QueueTicket' }) satisfies z.ZodType<QueueTicketView>;
