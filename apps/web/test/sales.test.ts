import { describe, expect, it } from 'vitest';
import { formatCountdown, nextChange, salesPhase } from '../src/sales.js';

const at = (iso: string) => Date.parse(iso);
const event = (times: Partial<Record<'starts_at' | 'sales_open_at' | 'sales_close_at', string>>) => ({
  starts_at: times.starts_at ?? null,
  sales_open_at: times.sales_open_at ?? null,
  sales_close_at: times.sales_close_at ?? null,
});

describe('salesPhase: where sales stand from the event times', () => {
  const window = event({
    sales_open_at: '2026-05-01T10:00:00Z',
    sales_close_at: '2026-05-02T10:00:00Z',
    starts_at: '2026-05-03T18:00:00Z',
  });

  it('is on sale for good without any time', () => {
    expect(salesPhase(event({}), at('2030-01-01T00:00:00Z'))).toEqual({ phase: 'open', closesAt: undefined });
  });

  it('counts to the opening, then is open until the closing, then closed, then started', () => {
    expect(salesPhase(window, at('2026-05-01T09:59:59.999Z'))).toEqual({
      phase: 'not-open',
      opensAt: at('2026-05-01T10:00:00Z'),
    });
    expect(salesPhase(window, at('2026-05-01T10:00:00Z'))).toEqual({
      phase: 'open',
      closesAt: at('2026-05-02T10:00:00Z'),
    });
    expect(salesPhase(window, at('2026-05-02T10:00:00Z'))).toEqual({
      phase: 'closed',
      closedAt: at('2026-05-02T10:00:00Z'),
    });
    expect(salesPhase(window, at('2026-05-03T18:00:00Z'))).toEqual({
      phase: 'started',
      startedAt: at('2026-05-03T18:00:00Z'),
    });
  });

  it('ends sales at the start when that comes before the closing time, or without one', () => {
    const early = event({ starts_at: '2026-05-01T18:00:00Z', sales_close_at: '2026-05-09T00:00:00Z' });
    const phase = salesPhase(early, at('2026-05-01T12:00:00Z'));
    expect(phase).toEqual({ phase: 'open', closesAt: at('2026-05-01T18:00:00Z') });
    expect(nextChange(phase)).toBe(at('2026-05-01T18:00:00Z'));
    expect(salesPhase(early, at('2026-05-01T18:00:00Z')).phase).toBe('started');
  });
});

describe('formatCountdown: time left in words, rounded up', () => {
  it.each([
    [500, '1 s'],
    [1_000, '1 s'],
    [45_000, '45 s'],
    [59_001, '60 s'],
    [60_000, '1 min'],
    [60_001, '2 min'],
    [(2 * 60 + 5) * 60_000, '2 h 05 min'],
    [(2 * 60 + 4) * 60_000 + 1, '2 h 05 min'],
    [60 * 60_000, '1 h 00 min'],
    [47 * 3_600_000, '47 h 00 min'],
    [2 * 86_400_000, '2 days'],
    [3 * 86_400_000 + 4 * 3_600_000, '3 days 4 h'],
  ])('%i ms: %s', (ms, text) => {
    expect(formatCountdown(ms)).toBe(text);
  });
});
