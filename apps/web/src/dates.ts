const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const longFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** A time from the API (ISO 8601) as people read it, in their own locale and time zone. */
export const formatTime = (iso: string | number): string => format.format(new Date(iso));

/** The same, with the weekday and the month in words: for the one event a page is about. */
export const formatLongTime = (iso: string | number): string => longFormat.format(new Date(iso));

const pad = (value: number) => String(value).padStart(2, '0');

/** A time from the API as a `datetime-local` input shows it (the user's time zone, to the minute); '' for none. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const time = new Date(iso);
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}T${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

/** What a `datetime-local` input holds (the user's time zone) as the API takes it; null when empty. */
export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const time = new Date(value); // a date-time without a zone is local time
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}
