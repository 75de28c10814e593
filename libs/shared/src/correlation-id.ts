/**
 * The one rule for a correlation id, the id a request goes by from the
 * gateway's `X-Request-Id` to the events it causes: short and plain, so it
 * cannot forge log lines or bloat headers and fits the `correlation_id` column
 * (letters, digits and `. _ ~ : + / = @ -`: UUIDs, ULIDs, base64 and trace ids fit).
 */
export const CORRELATION_ID_MAX_LENGTH = 128;

const CORRELATION_ID_PATTERN = new RegExp(`^[A-Za-z0-9._~:+/=@-]{1,${CORRELATION_ID_MAX_LENGTH}}$`);

/** The rule in words, for refusals. */
export const CORRELATION_ID_DESCRIPTION = `1-${CORRELATION_ID_MAX_LENGTH} characters of letters, digits and . _ ~ : + / = @ -`;

export const isCorrelationId = (value: unknown): value is string =>
  typeof value === 'string' && CORRELATION_ID_PATTERN.test(value);
