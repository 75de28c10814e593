import { describe, expect, it } from 'vitest';
import { CORRELATION_ID_MAX_LENGTH, isCorrelationId } from '../src/correlation-id.js';

describe('isCorrelationId', () => {
  it('accepts UUIDs, trace ids and base64 up to the maximum length', () => {
    for (const id of ['0f8b3c1e-5d2a-4c1b-9a57-3f0e6d2b7c4a', '00-4bf92f3577b34da6-01', 'ab+/cd==', 'x'.repeat(128)]) {
      expect(isCorrelationId(id), id).toBe(true);
    }
  });

  it('refuses anything else: too long, empty, spaces, control characters, other types', () => {
    const refused = ['x'.repeat(CORRELATION_ID_MAX_LENGTH + 1), '', 'has space', 'line\nbreak', 'é', 42, undefined];
    for (const value of refused) expect(isCorrelationId(value), String(value)).toBe(false);
  });
});
