// The console report (a short header, the results, each process's cost, the
// ratios and the targets) and the files: JSON and the latency chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latencyChartSvg } from './chart.mjs';
import { formatNumber, formatTable, wrap } from './format.mjs';
import { bookingsPerSecond } from './targets.mjs';

const right = (header) => ({ header, align: 'right' });

/** "Machine", "System" and "Runs" paragraphs: what was measured, on what, and how. */
export function formatHeader({ machine, setup }) {
  const paragraph = (heading, text) => `${heading.padEnd(9)}${wrap(text, 92).join(`\n${' '.repeat(9)}`)}`;
  const system = setup.services
    ? [
        setup.services.map(({ name, replicas }) => `${name}${replicas > 1 ? ` ×${replicas}` : ''}`).join(', '),
        `from their bundles with the environment \`pnpm start\` gives (NODE_ENV=${setup.nodeEnv},`,
        `LOG_LEVEL=${setup.logLevel}); per-IP and per-user rate limits raised to ${formatNumber(Number(setup.rateLimit))}.`,
        setup.gatewayReplicas > 1 ? 'The shipped nginx configuration in front of the gateways.' : '',
        `Database ${setup.database} (dropped at the end), nats-server and redis-server of this run.`,
        setup.without.length ? `Left out: ${setup.without.join(', ')}.` : '',
      ]
    : [`The running gateway at ${setup.targets.join(', ')} (--url): no per-process cost, no event backlog.`];
  const warmUp = setup.warmUpSeconds ? `${setup.warmUpSeconds} s of warm-up` : 'no warm-up';
  const median = setup.repeat > 1 ? ' (the median run reported; compared scenarios alternate)' : '';
  const runs = `${setup.seconds} s each after ${warmUp}; ${setup.repeat} per scenario${median}.`;
  return [
    paragraph(
      'Machine',
      `${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GiB, ${machine.os}, Node ${machine.node}, ` +
        `PostgreSQL ${machine.postgres}; the load generator, PostgreSQL, NATS, Redis and every service share it.`,
    ),
    paragraph('System', system.filter(Boolean).join(' ')),
    paragraph('Runs', runs),
    ...(setup.skipped.length ? [paragraph('Skipped', `${setup.skipped.join('; ')}.`)] : []),
  ].join('\n');
}

export function formatResults(rows) {
  const columns = [
    { header: 'scenario' },
    right('conns'),
    right('per second'),
    right('bookings/s'),
    right('p50 ms'),
    right('p95 ms'),
    right('p99 ms'),
    { header: 'answers' },
    right('backlog at stop'),
    right('drained after'),
    { header: 'checks' },
  ];
  return `${formatTable(
    columns,
    rows.map((row) => {
      const rate =
        row.requestsPerSecond !== undefined
          ? `${formatNumber(row.requestsPerSecond)} req`
          : row.transactionsPerSecond !== undefined
            ? `${formatNumber(row.transactionsPerSecond)} tx`
            : `${formatNumber(row.eventsPerSecond)} events`;
      const books = row.statuses?.['201'] !== undefined || row.transactionsPerSecond !== undefined;
      return [
        row.label,
        row.connections,
        rate,
        books ? bookingsPerSecond(row) : '',
        row.latencyMs?.p50,
        row.latencyMs?.p95,
        row.latencyMs?.p99,
        answers(row),
        row.backlogAtStop
          ? `${formatNumber(row.backlogAtStop.consumers)} + ${formatNumber(row.backlogAtStop.outbox)}`
          : '',
        'drainedAfterMs' in row
          ? row.drainedAfterMs === undefined
            ? 'not drained'
            : `${formatNumber(row.drainedAfterMs / 1000)} s`
          : '',
        row.check ? (row.check.ok ? 'ok' : 'FAILED') : '',
      ];
    }),
  )}
backlog at stop: booking events on the stream not yet acknowledged by a durable consumer + outbox rows not
yet published, when the load stopped; drained after: from then until both were 0 (without the notification
service: its restart included). Checks: no oversold event, no double booking, seat counters equal to the
bookings.`;
}

function answers(row) {
  if (row.statuses) {
    const counts = Object.entries(row.statuses).map(([status, count]) => `${status}×${formatNumber(count)}`);
    if (row.socketErrors) counts.push(`errors×${formatNumber(row.socketErrors)}`);
    return counts.join(' ');
  }
  if (row.latencyAverageMs !== undefined) return `average ${formatNumber(row.latencyAverageMs)} ms`;
  if (row.eventsPerSecond !== undefined) return `${formatNumber(row.events)} events in ${formatNumber(row.seconds)} s`;
  return '';
}

/** A sell-out's two kinds of answer, which the table's percentiles mix: the bookings while seats last, the refusals after. */
export function formatSellOut(row) {
  const booked = row.byStatus?.['201'];
  if (!booked) return 'sell-out: no seat was booked.';
  const sold = row.statuses['201'];
  const refused = row.byStatus['409'];
  const latencies = ({ p50, p95, p99 }) =>
    `p50 ${formatNumber(p50)}, p95 ${formatNumber(p95)}, p99 ${formatNumber(p99)} ms`;
  return [
    sold < row.seats
      ? `sell-out: not sold out, ${formatNumber(sold)} of ${formatNumber(row.seats)} seats sold in ${formatNumber(row.seconds)} s`
      : `sell-out: ${formatNumber(sold)} seats sold out ${formatNumber(booked.lastAtMs)} ms after the load started (its connections opening included)`,
    `  bookings (201)  ${latencies(booked.latencyMs)}`,
    refused ? `  refusals (409)  ${latencies(refused.latencyMs)}` : '  no refusals',
  ].join('\n');
}

/** A refresh storm's reads, which the table leaves out: its row is the bookings made beside them. */
export function formatStorm(row) {
  const { storm } = row;
  const serverErrors = Object.entries(storm.statuses)
    .filter(([status]) => Number(status) >= 500)
    .reduce((sum, [, count]) => sum + count, 0);
  return [
    `refresh storm: ${formatNumber(storm.connections)} connections polling the event on sale read ` +
      `${formatNumber(storm.requestsPerSecond)}/s, p50 ${formatNumber(storm.latencyMs.p50)}, ` +
      `p95 ${formatNumber(storm.latencyMs.p95)}, p99 ${formatNumber(storm.latencyMs.p99)} ms, ` +
      `${formatNumber(serverErrors)} 5xx, ${formatNumber(storm.socketErrors)} socket errors`,
    `  bookings beside it: ${formatNumber(bookingsPerSecond(row))}/s, p99 ${formatNumber(row.latencyMs.p99)} ms`,
  ].join('\n');
}

/** Two tables, scenarios by process: CPU time per request (per event for the notification service) and peak RSS. */
export function formatProcessCost(rows) {
  const measured = rows.filter((row) => row.processes?.length);
  if (measured.length === 0) return undefined;
  const names = [...new Set(measured.flatMap((row) => row.processes.map(({ name }) => name)))];
  const table = (pick) =>
    formatTable(
      [{ header: 'scenario' }, ...names.map(right)],
      measured.map((row) => [
        row.label,
        ...names.map((name) => pick(row.processes.find((process) => process.name === name))),
      ]),
    );
  return [
    "CPU time per request, µs (notification-service: per event; postgres: this run's backends)",
    table((process) => process?.cpuUsPerUnit),
    '',
    'Peak resident memory during the scenario, MB',
    table((process) => process?.peakRssMb),
  ].join('\n');
}

export function formatRatios(ratios) {
  if (ratios.length === 0) return undefined;
  const width = Math.max(...ratios.map(({ name }) => name.length));
  return ratios
    .map(
      ({ name, value, byRun }) =>
        `${name.padEnd(width)}  ${value.toFixed(2)}×${byRun?.length > 1 ? `  (runs: ${byRun.map((r) => r.toFixed(2)).join(', ')})` : ''}`,
    )
    .join('\n');
}

export function formatTargets(targets) {
  return formatTable(
    [{ header: 'target' }, { header: 'measured' }, { header: 'result' }],
    targets.map(({ target, measured, result }) => [target, measured, result]),
  );
}

/**
 * Writes `report` as `bench-<stamp>.json` and the latency chart of the scenarios that measured per-request
 * latency as `latency.svg` into load-testing/results under `root`; returns a line saying what was written
 * (or why no chart).
 */
export function writeResults(root, report) {
  const dir = 'load-testing/results';
  mkdirSync(join(root, dir), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = `bench-${stamp}.json`;
  writeFileSync(join(root, dir, json), JSON.stringify(report, null, 2));
  const bars = report.results
    .filter((row) => row.latencyMs)
    .map((row) => ({ label: row.label, latencyMs: row.latencyMs }));
  if (bars.length === 0) {
    const ran = report.results.map(({ scenario }) => scenario).join(', ') || 'none';
    return `Wrote ${dir}/${json}; no latency chart: no scenario that ran (${ran}) measures latency per request.`;
  }
  writeFileSync(
    join(root, dir, 'latency.svg'),
    latencyChartSvg('pnpm bench: latency per scenario (its median run)', bars),
  );
  return `Wrote ${dir}/${json} and ${dir}/latency.svg`;
}
