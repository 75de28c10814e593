import { describe, expect, it } from 'vitest';
import { computeRatios, evaluateTargets } from '../lib/targets.mjs';

/** A run's reported row, as the scenarios produce it; `overrides` change what a test is about. */
function row(scenario: string, overrides: Record<string, unknown> = {}) {
  return {
    scenario,
    label: scenario,
    connections: 200,
    seconds: 10,
    requestsPerSecond: 5000,
    runs: [5000],
    answered: 50_000,
    socketErrors: 0,
    statuses: { '201': 50_000 },
    latencyMs: { p50: 10, p95: 30, p99: 60 },
    drainedAfterMs: 1500,
    processes: [{ name: 'api-gateway', partOfSystem: true, peakRssMb: 150 }],
    ...overrides,
  };
}

/** Every scenario of a full run, each meeting its target. */
const passing = () => [
  row('sustained sale', { runs: [5000, 4800, 5200] }),
  row('sustained sale without notification service', { runs: [5500, 5400, 5600] }),
  row('seed baseline', { connections: 200, label: 'seed baseline @ 200' }),
  row('read path', { requestsPerSecond: 20_000, runs: [20_000], statuses: { '200': 200_000 } }),
  row('bare Node HTTP server', { requestsPerSecond: 30_000, runs: [30_000], statuses: { '200': 300_000 } }),
  {
    scenario: 'notification drain',
    events: 20_000,
    seconds: 0.9,
    eventsPerSecond: 22_000,
    runs: [22_000],
    processes: [{ name: 'notification-service', partOfSystem: true, peakRssMb: 140 }],
  },
  { scenario: 'pgbench', connections: 32, transactionsPerSecond: 2000, runs: [2000], latencyAverageMs: 10 },
];

const resultOf = (targets: { target: string; result: string }[], start: string) =>
  targets.find(({ target }) => target.startsWith(start));

describe('ratios', () => {
  it('pairs the runs of scenarios run in turn and takes the median of their ratios', () => {
    const ratios = computeRatios(passing());
    const withWithout = ratios.find(({ key }) => key === 'saleVsWithoutNotification');
    expect(withWithout!.byRun.map((r: number) => r.toFixed(3))).toEqual(['0.909', '0.889', '0.929']);
    expect(withWithout!.value).toBeCloseTo(5000 / 5500, 9);
  });

  it("compares pgbench and the notification drain with the sustained sale's bookings, never its other answers", () => {
    const rows = passing();
    // Half the sale's answers refusals: 2,500 bookings/s of 5,000 answers/s.
    rows[0] = row('sustained sale', { statuses: { '201': 25_000, '409': 25_000 } });
    const value = (key: string) => computeRatios(rows).find((ratio) => ratio.key === key)?.value;
    expect(value('saleVsPgbench')).toBe(2500 / 2000);
    expect(value('drainVsSale')).toBe(22_000 / 2500);
  });
});

describe('targets', () => {
  it('pass, each with what was measured, when every scenario meets them', () => {
    const targets = evaluateTargets(passing());
    expect(targets).toHaveLength(9);
    expect(targets.filter(({ result }) => result !== 'pass')).toEqual([]);
    expect(resultOf(targets, 'sustained sale ≥ 0.8×')).toMatchObject({ measured: '0.91×' });
    expect(resultOf(targets, 'sustained sale ≥ 0.15×')).toMatchObject({ measured: '0.17×' });
    expect(resultOf(targets, 'events drained')).toMatchObject({ measured: '1.5 s (sustained sale)' });
    expect(resultOf(targets, 'notification drain')).toMatchObject({ measured: '4.40×' });
    expect(resultOf(targets, 'every process')).toMatchObject({ measured: '150 MB (api-gateway)' });
  });

  it.each([
    ['sustained sale ≥ 0.8×', 0, { runs: [4000, 4000, 4000] }, '0.73×'],
    ['sustained sale ≥ 0.15×', 0, { requestsPerSecond: 4000 }, '0.13×'],
    ['sustained sale p95', 0, { latencyMs: { p50: 10, p95: 51, p99: 60 } }, '51 ms'],
    ['sustained sale p99', 0, { latencyMs: { p50: 10, p95: 30, p99: 100.5 } }, '101 ms'],
    ['sustained sale: no 5xx', 0, { statuses: { '201': 49_999, '503': 1 } }, '1 5xx, 0 socket errors'],
    ['sustained sale: no 5xx', 0, { socketErrors: 3 }, '0 5xx, 3 socket errors'],
    ['events drained', 2, { drainedAfterMs: 5001 }, '5 s (seed baseline @ 200)'],
    ['events drained', 2, { drainedAfterMs: undefined }, 'seed baseline @ 200 did not drain'],
    ['notification drain', 5, { eventsPerSecond: 19_999 }, '4.00×'],
    ['seed baseline @ 200', 2, { latencyMs: { p50: 10, p95: 50.2, p99: 60 } }, '50 ms'],
    [
      'every process',
      3,
      { processes: [{ name: 'api-gateway', partOfSystem: true, peakRssMb: 200 }] },
      '200 MB (api-gateway)',
    ],
  ])('"%s" fails when row %i has %j, saying %s', (target, index, overrides, measured) => {
    const rows: Record<string, unknown>[] = passing();
    rows[index] = { ...rows[index], ...overrides };
    expect(resultOf(evaluateTargets(rows), target)).toMatchObject({ result: 'FAIL', measured });
  });

  it('judge the drain and the memory of the system alone, not the run without its consumer nor the load generator', () => {
    const rows: Record<string, unknown>[] = passing();
    rows[1] = { ...rows[1], drainedAfterMs: 9000 };
    rows[2] = { ...rows[2], processes: [{ name: 'load generator', partOfSystem: false, peakRssMb: 900 }] };
    const targets = evaluateTargets(rows);
    expect(resultOf(targets, 'events drained')).toMatchObject({ result: 'pass' });
    expect(resultOf(targets, 'every process')).toMatchObject({ result: 'pass' });
  });

  it('say "not measured", and why, when a scenario did not run or a service was left out', () => {
    const onlySale = [row('sustained sale')];
    const targets = evaluateTargets(onlySale, { notificationServiceLeftOut: true });
    expect(resultOf(targets, 'sustained sale ≥ 0.8×')).toMatchObject({
      result: 'not measured',
      measured: 'the notification service was left out',
    });
    expect(resultOf(targets, 'sustained sale ≥ 0.15×')).toMatchObject({ measured: 'bare-node not run' });
    expect(resultOf(targets, 'events drained')).toMatchObject({ result: 'not measured' });
    expect(resultOf(targets, 'notification drain')).toMatchObject({ measured: 'notification-drain not run' });
    expect(resultOf(targets, 'seed baseline')).toMatchObject({ measured: 'seed-baseline not run' });
    expect(resultOf(targets, 'sustained sale p95')).toMatchObject({ result: 'pass' });
    expect(evaluateTargets([]).every(({ result }) => result === 'not measured')).toBe(true);
  });
});
