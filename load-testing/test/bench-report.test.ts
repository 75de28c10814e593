import { describe, expect, it } from 'vitest';
import { latencyChartSvg, niceTicks } from '../lib/chart.mjs';
import { formatNumber, formatTable, wrap } from '../lib/format.mjs';
import { formatHeader, formatProcessCost, formatResults, formatSellOut } from '../lib/report.mjs';

describe('nice chart ticks', () => {
  it.each([
    // The old chart's maximum of 113 gave ticks at 28, 57, 85, 113.
    [113, [0, 20, 40, 60, 80, 100, 120]],
    [120, [0, 20, 40, 60, 80, 100, 120]],
    [28, [0, 5, 10, 15, 20, 25, 30]],
    [7.4, [0, 2, 4, 6, 8]],
    [1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0.3, [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]],
    [2080, [0, 500, 1000, 1500, 2000, 2500]],
    [0, [0, 1]],
  ])('from 0 past %d in steps of 1, 2 or 5 × 10^k', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });

  it.each([3, 17, 99.9, 101, 555, 4321, 0.07])(
    'for %d: at most 6 equal round steps, the last tick at or past it',
    (max) => {
      const ticks = niceTicks(max);
      const step = ticks[1];
      expect(ticks.length - 1).toBeLessThanOrEqual(6);
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(max);
      expect(ticks.at(-2)).toBeLessThan(max);
      const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6));
      expect([1, 2, 5]).toContain(mantissa);
      ticks.forEach((tick, i) => expect(tick).toBeCloseTo(i * step, 9));
    },
  );
});

describe('latency chart', () => {
  const bars = [
    { label: 'sustained sale', latencyMs: { p50: 12, p95: 31, p99: 44.5 } },
    { label: 'seed baseline @ 200', latencyMs: { p50: 20, p95: 51, p99: 113 } },
  ];

  it('labels its axis with the nice ticks and draws three bars per scenario, scaled to the top tick', () => {
    const svg = latencyChartSvg('title <&>', bars);
    const tickLabels = [...svg.matchAll(/text-anchor="end">([\d.]+)</g)].map((m) => Number(m[1]));
    expect(tickLabels).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(svg).toContain('title &lt;&amp;&gt;');
    const heights = [...svg.matchAll(/height="([\d.]+)" fill="#\w+"><title>/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(6);
    // The p99 of 113 is 113/120 of the plot's height; the p50 of 12 a tenth of that of 120.
    expect(heights[5]! / heights[0]!).toBeCloseTo(113 / 12, 6);
    expect(svg).toContain('<title>seed baseline @ 200 p99: 113 ms</title>');
  });

  it('wraps long scenario names under their bars', () => {
    expect(wrap('sustained sale without notification service', 14)).toEqual([
      'sustained sale',
      'without',
      'notification',
      'service',
    ]);
  });
});

describe('console tables', () => {
  it('formats numbers with separators and as many decimals as they need', () => {
    expect([12345.6, 1234, 45.67, 4.56, 0.256, 0, undefined, NaN].map(formatNumber)).toEqual([
      '12,346',
      '1,234',
      '46',
      '4.6',
      '0.26',
      '0',
      '',
      '',
    ]);
  });

  it('aligns columns: text to the left, numbers to the right, under a rule as wide as each column', () => {
    const table = formatTable(
      [{ header: 'scenario' }, { header: 'req/s', align: 'right' }],
      [
        ['read path', 40123],
        ['sell-out', 812.4],
        ['pgbench', undefined],
      ],
    );
    expect(table.split('\n')).toEqual([
      'scenario    req/s',
      '---------  ------',
      'read path  40,123',
      'sell-out      812',
      'pgbench',
    ]);
  });

  const sustained = {
    scenario: 'sustained sale',
    label: 'sustained sale',
    connections: 200,
    seconds: 10,
    requestsPerSecond: 9000,
    answered: 90000,
    socketErrors: 0,
    statuses: { '201': 89990, '503': 10 },
    latencyMs: { p50: 18, p95: 31.5, p99: 44 },
    backlogAtStop: { consumers: 1200, outbox: 35 },
    drainedAfterMs: 820,
    check: { ok: true },
    processes: [
      { name: 'api-gateway', per: 'request', cpuUsPerUnit: 120, peakRssMb: 160 },
      { name: 'notification-service', per: 'event', cpuUsPerUnit: 300, peakRssMb: 150 },
    ],
  };

  it('puts each scenario on one row: rate, bookings/s, percentiles, answers, backlog, drain, checks', () => {
    const drain = {
      scenario: 'notification drain',
      label: 'notification drain',
      events: 20000,
      seconds: 2.5,
      eventsPerSecond: 8000,
    };
    const pgbench = {
      scenario: 'pgbench',
      label: 'pgbench',
      connections: 32,
      transactionsPerSecond: 2500,
      latencyAverageMs: 12.8,
    };
    const lines = formatResults([sustained, { ...sustained, drainedAfterMs: undefined }, drain, pgbench]).split('\n');
    expect(lines[2]).toMatch(
      /^sustained sale +200 +9,000 req +8,999 +18 +32 +44 +201×89,990 503×10 +1,200 \+ 35 +0.82 s +ok$/,
    );
    expect(lines[3]).toContain('not drained');
    expect(lines[4]).toMatch(/^notification drain +8,000 events +20,000 events in 2.5 s$/);
    expect(lines[5]).toMatch(/^pgbench +32 +2,500 tx +2,500 +average 13 ms$/);
  });

  it('tabulates CPU per request and peak memory by scenario and process', () => {
    const text = formatProcessCost([sustained, { scenario: 'pgbench', label: 'pgbench', transactionsPerSecond: 1 }])!;
    expect(text).toMatch(/^sustained sale +120 +300$/m);
    expect(text).toMatch(/^sustained sale +160 +150$/m);
    expect(text).not.toContain('pgbench');
    expect(formatProcessCost([{ scenario: 'pgbench' }])).toBeUndefined();
  });

  it("reports a sell-out's bookings and refusals apart, and says when the seats did not sell out", () => {
    const byStatus = {
      '201': { latencyMs: { p50: 40, p95: 90, p99: 120 }, lastAtMs: 612 },
      '409': { latencyMs: { p50: 8, p95: 15, p99: 22.25 }, lastAtMs: 10000 },
    };
    const soldOut = { seats: 1000, seconds: 10, statuses: { '201': 1000, '409': 50000 }, byStatus };
    expect(formatSellOut(soldOut).split('\n')).toEqual([
      'sell-out: 1,000 seats sold out 612 ms after the load started (its connections opening included)',
      '  bookings (201)  p50 40, p95 90, p99 120 ms',
      '  refusals (409)  p50 8, p95 15, p99 22 ms',
    ]);
    const notSoldOut = { seats: 1000, seconds: 3, statuses: { '201': 870 }, byStatus: { '201': byStatus['201'] } };
    expect(formatSellOut(notSoldOut).split('\n')[0]).toBe('sell-out: not sold out, 870 of 1,000 seats sold in 3 s');
  });

  it('opens with a short readable header: machine, system, runs, what was skipped', () => {
    const machine = {
      cpus: 2,
      cpuModel: 'AMD EPYC',
      memoryGb: 24,
      os: 'Linux 6.1',
      node: 'v20.20.2',
      postgres: '15.20',
    };
    const setup = {
      seconds: 10,
      warmUpSeconds: 5,
      repeat: 3,
      targets: ['http://127.0.0.1:40001'],
      without: [],
      skipped: ['notification drain (the notification service is left out)'],
      gatewayReplicas: 1,
      services: [
        { name: 'booking-service', replicas: 2 },
        { name: 'notification-service', replicas: 1 },
        { name: 'api-gateway', replicas: 1 },
      ],
      nodeEnv: 'development',
      logLevel: 'info',
      rateLimit: '1000000000',
      database: 'booking_bench_20260101000000_abcdef',
    };
    const lines = formatHeader({ machine, setup }).split('\n');
    expect(lines[0]).toMatch(/^Machine {2}2 cores \(AMD EPYC\), 24 GiB, Linux 6.1, Node v20.20.2, PostgreSQL 15.20;/);
    expect(lines.find((line) => line.startsWith('System'))).toContain(
      'booking-service ×2, notification-service, api-gateway',
    );
    const text = lines.join(' ').replace(/ +/g, ' ');
    expect(text).toContain('NODE_ENV=development, LOG_LEVEL=info');
    expect(text).toContain('Database booking_bench_20260101000000_abcdef (dropped at the end)');
    expect(text).toContain(
      'Runs 10 s each after 5 s of warm-up; 3 per scenario (the median run reported; compared scenarios alternate).',
    );
    expect(lines.at(-1)).toBe('Skipped  notification drain (the notification service is left out).');
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(101);
      expect(line).toMatch(/^(Machine|System|Runs|Skipped) +\S|^ {9}\S/);
    }
  });
});
