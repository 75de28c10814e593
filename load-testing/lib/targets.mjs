// The ratios between scenarios of one run, and the targets, judged on them.
// Targets are ratios and percentiles measured in the same run: on a shared
// machine absolute rates move from run to run, ratios much less.
import { formatNumber } from './format.mjs';
import { titleOf, WITHOUT_NOTIFICATION_TITLE } from './options.mjs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

/** The row of scenario `id` (at `connections`, for the seed baseline). */
const find = (rows, id, connections) =>
  rows.find((row) => row.scenario === titleOf(id) && (connections === undefined || row.connections === connections));

/** Bookings made per second: the 201s of a run through the system, every transaction of pgbench. */
export function bookingsPerSecond(row) {
  if (row.transactionsPerSecond !== undefined) return row.transactionsPerSecond;
  return Math.round((row.statuses?.['201'] ?? 0) / row.seconds);
}

/**
 * `[{ key, name, value, byRun? }]`. Scenarios run in turn are compared by the median of their runs' ratios
 * (run i of one against run i of the other, measured back to back); others by their reported runs.
 */
export function computeRatios(rows) {
  const ratios = [];
  const paired = (key, name, a, b) => {
    if (!a || !b) return;
    const byRun = a.runs.map((rate, i) => rate / b.runs[i]);
    ratios.push({ key, name, value: median(byRun), byRun });
  };
  const single = (key, name, numerator, denominator) => {
    if (numerator !== undefined && denominator) ratios.push({ key, name, value: numerator / denominator });
  };
  const sustained = find(rows, 'sustained-sale');
  const bare = find(rows, 'bare-node');
  const pgbench = find(rows, 'pgbench');
  const drain = find(rows, 'notification-drain');
  paired('readVsBare', 'read path ÷ bare Node HTTP server (req/s)', find(rows, 'read-path'), bare);
  paired(
    'readVsUncached',
    `read path ÷ ${titleOf('read-path-uncached')} (req/s)`,
    find(rows, 'read-path'),
    find(rows, 'read-path-uncached'),
  );
  paired(
    'nginxReadVsBare',
    `${titleOf('read-path-nginx')} ÷ bare Node HTTP server (req/s)`,
    find(rows, 'read-path-nginx'),
    bare,
  );
  const storm = find(rows, 'refresh-storm');
  if (storm && sustained) {
    const byRun = storm.runs.map((rate, i) => rate / sustained.runs[i]);
    ratios.push({
      key: 'stormVsSale',
      name: "refresh storm's bookings/s ÷ sustained sale's",
      value: median(byRun),
      byRun,
    });
  }
  paired(
    'saleVsWithoutNotification',
    `sustained sale ÷ ${WITHOUT_NOTIFICATION_TITLE} (req/s)`,
    sustained,
    rows.find((row) => row.scenario === WITHOUT_NOTIFICATION_TITLE),
  );
  single(
    'saleVsBare',
    'sustained sale ÷ bare Node HTTP server (req/s)',
    sustained?.requestsPerSecond,
    bare?.requestsPerSecond,
  );
  single(
    'saleVsPgbench',
    "sustained sale's bookings/s ÷ pgbench's transactions/s",
    sustained && bookingsPerSecond(sustained),
    pgbench?.transactionsPerSecond,
  );
  single(
    'drainVsSale',
    "notification drain's events/s ÷ sustained sale's bookings/s",
    drain?.eventsPerSecond,
    sustained && bookingsPerSecond(sustained),
  );
  return ratios;
}

const times = (value) => `${value.toFixed(2)}×`;

/**
 * `[{ target, measured, result }]`, result "pass", "FAIL" or "not measured" (then `measured` says why).
 * `notificationServiceLeftOut`: the run left it out (`--without notification-service`).
 */
export function evaluateTargets(rows, { notificationServiceLeftOut = false } = {}) {
  const ratios = computeRatios(rows);
  const ratio = (key) => ratios.find((r) => r.key === key)?.value;
  const sustained = find(rows, 'sustained-sale');
  const seed200 = find(rows, 'seed-baseline', 200);
  const drain = find(rows, 'notification-drain');
  const notRun = (id) => ({ missing: `${id} not run` });
  const atMost = (value, limit, unit) => ({ measured: `${formatNumber(value)}${unit}`, pass: value <= limit });
  const atLeast = (value, limit) => ({ measured: times(value), pass: value >= limit });

  const judged = [
    [
      'sustained sale ≥ 0.8× the same without the notification service',
      () => {
        const value = ratio('saleVsWithoutNotification');
        if (value !== undefined) return atLeast(value, 0.8);
        if (!sustained) return notRun('sustained-sale');
        if (notificationServiceLeftOut) return { missing: 'the notification service was left out' };
        return { missing: 'no run without the notification service (--url)' };
      },
    ],
    [
      'sustained sale ≥ 0.15× the bare Node HTTP server (req/s)',
      () => {
        const value = ratio('saleVsBare');
        return value === undefined ? notRun(sustained ? 'bare-node' : 'sustained-sale') : atLeast(value, 0.15);
      },
    ],
    [
      'sustained sale p95 ≤ 50 ms',
      () => (sustained ? atMost(sustained.latencyMs.p95, 50, ' ms') : notRun('sustained-sale')),
    ],
    [
      'sustained sale p99 ≤ 100 ms',
      () => (sustained ? atMost(sustained.latencyMs.p99, 100, ' ms') : notRun('sustained-sale')),
    ],
    [
      'sustained sale: no 5xx, no socket error',
      () => {
        if (!sustained) return notRun('sustained-sale');
        const serverErrors = Object.entries(sustained.statuses)
          .filter(([status]) => Number(status) >= 500)
          .reduce((sum, [, count]) => sum + count, 0);
        return {
          measured: `${formatNumber(serverErrors)} 5xx, ${formatNumber(sustained.socketErrors)} socket errors`,
          pass: serverErrors === 0 && sustained.socketErrors === 0,
        };
      },
    ],
    [
      "events drained ≤ 5 s after the load stops (every scenario's worst)",
      () => {
        if (notificationServiceLeftOut) return { missing: 'the notification service was left out' };
        const measured = rows.filter((row) => 'drainedAfterMs' in row && row.scenario !== WITHOUT_NOTIFICATION_TITLE);
        if (measured.length === 0) return { missing: 'no scenario with bookings ran' };
        const stuck = measured.find((row) => row.drainedAfterMs === undefined);
        if (stuck) return { measured: `${stuck.label} did not drain`, pass: false };
        const worst = measured.reduce((a, b) => (b.drainedAfterMs > a.drainedAfterMs ? b : a));
        return {
          measured: `${formatNumber(worst.drainedAfterMs / 1000)} s (${worst.label})`,
          pass: worst.drainedAfterMs <= 5000,
        };
      },
    ],
    [
      "notification drain ≥ 4× the sustained sale's bookings/s",
      () => {
        const value = ratio('drainVsSale');
        return value === undefined ? notRun(drain ? 'sustained-sale' : 'notification-drain') : atLeast(value, 4);
      },
    ],
    [
      'seed baseline @ 200 connections p95 ≤ 50 ms',
      () => (seed200 ? atMost(seed200.latencyMs.p95, 50, ' ms') : notRun('seed-baseline')),
    ],
    [
      'every process of the system < 200 MB resident (peak)',
      () => {
        const peaks = rows
          .flatMap((row) => row.processes ?? [])
          .filter((p) => p.partOfSystem && p.peakRssMb !== undefined);
        if (peaks.length === 0) return { missing: 'no process of the system was measured' };
        const largest = peaks.reduce((a, b) => (b.peakRssMb > a.peakRssMb ? b : a));
        return { measured: `${largest.peakRssMb} MB (${largest.name})`, pass: largest.peakRssMb < 200 };
      },
    ],
  ];
  return judged.map(([target, judge]) => {
    const { measured, pass, missing } = judge();
    return missing
      ? { target, measured: missing, result: 'not measured' }
      : { target, measured, result: pass ? 'pass' : 'FAIL' };
  });
}
