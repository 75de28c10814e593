import type { CreateEventCommand, EventChanges, EventView } from '../api.js';
import { fromLocalInput, toLocalInput } from '../dates.js';

/** An event's fields as a form holds them: text, times as `datetime-local` values (the user's time zone). */
export interface EventFormValues {
  name: string;
  totalSeats: string;
  startsAt: string;
  venue: string;
  description: string;
  salesOpenAt: string;
  salesCloseAt: string;
}

export const emptyEventForm = (): EventFormValues => ({
  name: '',
  totalSeats: '100',
  startsAt: '',
  venue: '',
  description: '',
  salesOpenAt: '',
  salesCloseAt: '',
});

export const formOf = (event: EventView): EventFormValues => ({
  name: event.name,
  totalSeats: String(event.total_seats),
  startsAt: toLocalInput(event.starts_at),
  venue: event.venue ?? '',
  description: event.description ?? '',
  salesOpenAt: toLocalInput(event.sales_open_at),
  salesCloseAt: toLocalInput(event.sales_close_at),
});

const textOrNull = (value: string) => value.trim() || null;

/** A new event: the optional details only when given. */
export function createCommandOf(values: EventFormValues): CreateEventCommand {
  const command: CreateEventCommand = { name: values.name.trim(), total_seats: Number(values.totalSeats) };
  const details = {
    starts_at: fromLocalInput(values.startsAt),
    venue: textOrNull(values.venue),
    description: textOrNull(values.description),
    sales_open_at: fromLocalInput(values.salesOpenAt),
    sales_close_at: fromLocalInput(values.salesCloseAt),
  };
  for (const [field, value] of Object.entries(details)) {
    if (value !== null) Object.assign(command, { [field]: value });
  }
  return command;
}

/**
 * The fields the form changes, and only those (a time kept as shown, to the minute, is not sent again);
 * a detail emptied is cleared (null).
 */
export function changesOf(event: EventView, values: EventFormValues): EventChanges {
  const before = formOf(event);
  const changes: EventChanges = {};
  if (values.name.trim() !== before.name) changes.name = values.name.trim();
  if (Number(values.totalSeats) !== event.total_seats) changes.total_seats = Number(values.totalSeats);
  if (values.startsAt !== before.startsAt) changes.starts_at = fromLocalInput(values.startsAt);
  if (values.venue.trim() !== before.venue) changes.venue = textOrNull(values.venue);
  if (values.description.trim() !== before.description.trim()) changes.description = textOrNull(values.description);
  if (values.salesOpenAt !== before.salesOpenAt) changes.sales_open_at = fromLocalInput(values.salesOpenAt);
  if (values.salesCloseAt !== before.salesCloseAt) changes.sales_close_at = fromLocalInput(values.salesCloseAt);
  return changes;
}

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

interface EventFieldsProps {
  values: EventFormValues;
  onChange: (values: EventFormValues) => void;
  /** Tells the ids of one form's fields from another's. */
  idPrefix: string;
}

/** Name, capacity, details and sales window; times in the user's own time zone. */
export function EventFields({ values, onChange, idPrefix }: EventFieldsProps) {
  const set = (field: keyof EventFormValues) => (event: { currentTarget: { value: string } }) =>
    onChange({ ...values, [field]: event.currentTarget.value });
  const timesHelp = `${idPrefix}-times-help`;
  return (
    <div class="form-grid">
      <label class="wide">
        Event name
        <input name="name" value={values.name} onInput={set('name')} required maxLength={255} />
      </label>
      <label>
        Seats
        <input
          name="totalSeats"
          type="number"
          inputMode="numeric"
          min={1}
          max={1000000}
          step={1}
          value={values.totalSeats}
          onInput={set('totalSeats')}
          required
        />
      </label>
      <label>
        Venue
        <input name="venue" value={values.venue} onInput={set('venue')} maxLength={255} />
      </label>
      <label class="wide">
        Description
        <textarea
          name="description"
          rows={3}
          value={values.description}
          onInput={set('description')}
          maxLength={5000}
        />
      </label>
      <label>
        Starts at
        <input
          name="startsAt"
          type="datetime-local"
          value={values.startsAt}
          onInput={set('startsAt')}
          aria-describedby={timesHelp}
        />
      </label>
      <label>
        Sales open at
        <input
          name="salesOpenAt"
          type="datetime-local"
          value={values.salesOpenAt}
          onInput={set('salesOpenAt')}
          aria-describedby={timesHelp}
        />
      </label>
      <label>
        Sales close at
        <input
          name="salesCloseAt"
          type="datetime-local"
          value={values.salesCloseAt}
          onInput={set('salesCloseAt')}
          aria-describedby={timesHelp}
        />
      </label>
      <p id={timesHelp} class="hint wide">
        Times in your time zone ({timeZone}). Without a sales opening, the event is on sale at once; without a closing,
        until it starts. Leave a field empty to clear it.
      </p>
    </div>
  );
}
