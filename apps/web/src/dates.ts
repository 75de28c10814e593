const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A time from the API (ISO 8601) as people read it, in their own locale and time zone. */
export const formatTime = (iso: string): string => format.format(new Date(iso));
