#!/usr/bin/env node
// `pnpm bench:drain`: how fast the notification service works off a backlog of
// booking events, on a private nats-server and a database of its own. With
// several --main bundles their runs alternate (a, b, a, b, …), so that each
// meets the same moments of a shared machine.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PrivateNatsServer } from '@booking/testing';
import { measureNotificationDrain, NOTIFICATION_SERVICE_BUNDLE } from './lib/notification-drain.mjs';
import { recreateDatabase } from './lib/system.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `Usage: pnpm bench:drain [options]

  --events N          events per run (default 20000)
  --repeat N          runs per bundle; the median is reported (default 3)
  --main PATH         a notification-service bundle, relative to the repository (repeatable;
                      default ${NOTIFICATION_SERVICE_BUNDLE})
  --failed-share X    fraction of the events that are booking.failed (default 0)
  --env NAME=VALUE    extra environment for the service (repeatable)
  -h, --help          this text`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      events: { type: 'string', default: '20000' },
      repeat: { type: 'string', default: '3' },
      main: { type: 'string', multiple: true, default: [NOTIFICATION_SERVICE_BUNDLE] },
      'failed-share': { type: 'string', default: '0' },
      env: { type: 'string', multiple: true, default: [] },
    },
  }));
} catch (error) {
  usageError(error.message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const events = Number(values.events);
const repeat = Number(values.repeat);
const failedShare = Number(values['failed-share']);
if (!Number.isInteger(events) || events < 1) usageError(`--events must be a whole number of at least 1`);
if (!Number.isInteger(repeat) || repeat < 1) usageError(`--repeat must be a whole number of at least 1`);
if (!(failedShare >= 0 && failedShare < 1)) usageError('--failed-share must be at least 0 and below 1');
const env = Object.fromEntries(
  values.env.map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) usageError(`--env takes NAME=VALUE, not '${pair}'`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

function usageError(message) {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const databaseUrl = await recreateDatabase(adminUrl, 'booking_drain');
execFileSync(process.execPath, ['libs/database/dist/cli.js', 'migrate'], {
  cwd: root,
  env: { ...process.env, DATABASE_URL: databaseUrl },
  stdio: 'inherit',
});
const nats = await PrivateNatsServer.start();
const runs = new Map(values.main.map((main) => [main, []]));
try {
  for (let i = 0; i < repeat; i++) {
    for (const main of values.main) {
      const result = await measureNotificationDrain(nats.url, databaseUrl, events, { main, env, failedShare });
      process.stderr.write(`[drain] ${main} run ${i + 1}/${repeat}: ${JSON.stringify(result)}\n`);
      runs.get(main).push(result);
    }
  }
} finally {
  await nats.dispose();
}
for (const [main, results] of runs) {
  const median = (pick) => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  console.log(
    `${main}: ${median((r) => r.eventsPerSecond)} events/s, ${median((r) => r.cpuMsPerEvent)} ms CPU/event, ` +
      `${median((r) => r.databaseCpuMsPerEvent)} ms PostgreSQL CPU/event (median of ${results.length}; ` +
      `events/s per run: ${results.map((r) => r.eventsPerSecond).join(', ')})`,
  );
}
