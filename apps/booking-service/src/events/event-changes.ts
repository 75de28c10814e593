import {
  ErrorMessages,
  salesWindowProblem,
  type EventUpdatedData,
  type EventView,
  type UpdateEventCommand,
} from '@booking/shared';

/** An event's changeable fields and its seats booked, times as ISO strings (UTC, milliseconds). */
export type EventState = Omit<EventView, 'id' | 'available_seats' | 'created_at' | 'updated_at'>;

type ChangeableField = keyof EventUpdatedData['changes'];
const CHANGEABLE: readonly ChangeableField[] = [
  'name',
  'total_seats',
  'starts_at',
  'venue',
  'description',
  'sales_open_at',
  'sales_close_at',
];

/**
 * An organiser's change, free of SQL, decided on the event as locked (so no
 * booking or other change comes between the decision and its write): the
 * event as it is to be, or why it may not be. Capacity never goes below the
 * seats booked; the sales window stays in order (it opens before it closes and
 * before the event starts). Closing the sales ends the window at `now` (the
 * database's clock), unless it ended earlier; a window that had not opened yet
 * becomes empty, opening and closing then.
 */
export function changedEvent(
  current: EventState,
  command: UpdateEventCommand,
  now: string,
): { next: EventState } | { conflict: string } {
  if (command.kind === 'close_sales') {
    const closeAt = current.sales_close_at !== null && current.sales_close_at < now ? current.sales_close_at : now;
    const openAt = current.sales_open_at !== null && current.sales_open_at > closeAt ? closeAt : current.sales_open_at;
    return { next: { ...current, sales_open_at: openAt, sales_close_at: closeAt } };
  }
  const next = { ...current };
  for (const field of CHANGEABLE) {
    const value = command.changes[field];
    if (value !== undefined) (next as Record<ChangeableField, unknown>)[field] = value;
  }
  if (next.total_seats < current.booked_seats) {
    return { conflict: ErrorMessages.capacityBelowBooked(command.id, current.booked_seats) };
  }
  const problem = salesWindowProblem(next);
  return problem ? { conflict: problem } : { next };
}

/** Each field whose value differs between `before` and `after`, with both values (the `event.updated` record). */
export function changesBetween(before: EventState, after: EventState): EventUpdatedData['changes'] {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of CHANGEABLE) {
    if (before[field] !== after[field]) changes[field] = { from: before[field], to: after[field] };
  }
  return changes as EventUpdatedData['changes'];
}
