// The command line of `pnpm bench`: the scenarios it knows and the options it
// takes. Checked before anything starts, so that a mistyped run stops at once
// saying what is wrong.
import { parseArgs } from 'node:util';
import { wrap } from './format.mjs';

/** Each scenario's command-line id and the name it is reported under. */
export const SCENARIOS = [
  {
    id: 'sustained-sale',
    title: 'sustained sale',
    about:
      'one event with more seats than requests: every answer a booking (201); run in turn with the same load ' +
      'with the notification service stopped, for the ratio',
  },
  {
    id: 'sell-out',
    title: 'sell-out',
    about: "1,000 seats for 200 connections: time to sell out; the bookings' and the refusals' latency apart",
  },
  { id: 'seed-baseline', title: 'seed baseline', about: "the seed's load: 100 events at 50, 100 and 200 connections" },
  {
    id: 'read-path',
    title: 'read path',
    about: "GET /api/events/:id, the gateway's catalogue on (the default); run in turn with bare-node, for the ratio",
  },
  {
    id: 'read-path-uncached',
    title: 'read path, catalogue off',
    about: 'GET /api/events/:id with READ_CACHE_TTL_MS=0: every read asks the booking service',
  },
  {
    id: 'read-path-nginx',
    title: 'read path through nginx',
    about: "GET /api/events/:id through the shipped nginx and its one-second micro-cache (nginx's CPU counted)",
  },
  {
    id: 'refresh-storm',
    title: 'refresh storm',
    about:
      '1,000 connections polling the event on sale while 200 connections book it; run in turn with the ' +
      'sustained sale, for what the storm costs the bookings',
  },
  { id: 'bare-node', title: 'bare Node HTTP server', about: 'a Node HTTP server answering a constant (reference)' },
  {
    id: 'notification-drain',
    title: 'notification drain',
    about: 'events already on the stream, then the notification service started: events/s until drained',
  },
  {
    id: 'pgbench',
    title: 'pgbench',
    about: "PostgreSQL alone running the booking transaction on one hot row (reference for the sale's bookings/s)",
  },
];
/** The name a scenario's rows are reported under. */
export const titleOf = (id) => SCENARIOS.find((scenario) => scenario.id === id).title;
/** The variant of the sustained sale run in turn with it. */
export const WITHOUT_NOTIFICATION_TITLE = 'sustained sale without notification service';
/** Services `--without` may leave out: the load goes through the gateway and the booking service. */
export const OPTIONAL_SERVICES = ['notification-service'];
const SCENARIO_IDS = SCENARIOS.map(({ id }) => id);

export const USAGE = `Usage: pnpm bench [options]

Starts every service \`pnpm start\` starts, as it starts them, on a database and
nats-server and redis-server of its own, runs the scenarios, checks the database
after each run (no oversold event, no double booking) and prints the results,
each process's CPU time per request and peak memory, and the targets met.

Scenarios (--scenarios, default all):
${SCENARIOS.map(({ id, about }) => `  ${id.padEnd(20)}${wrap(about, 76).join(`\n${' '.repeat(22)}`)}`).join('\n')}

Options:
  --scenarios LIST            comma-separated scenario ids (above)
  --seconds N                 length of each measured run (default 10)
  --warm-up N                 unreported load before the first scenario (default 5)
  --repeat N                  runs per scenario; the median run is reported (default 1)
  --booking-replicas N        booking services to start (default 1)
  --gateway-replicas N        gateways to start; more than one runs behind nginx (default 1)
  --without SERVICE           leave a service out: ${OPTIONAL_SERVICES.join(', ')} (the README's figures never do)
  --notification-events N     events on the stream for notification-drain (default 20000)
  --url URL                   target a running gateway instead (repeatable); needs --database-url;
                              no per-process cost, backlog or notification scenarios then
  --database-url URL          the database the checks read, with --url
  -h, --help                  this text

Exit code: 1 when a check after a run found an invariant violated (an
oversold event, a double booking, a seat counter off) or the bench could not
run, 2 for a bad option, else 0. A missed target never changes it: the
targets table says which passed.`;

export class UsageError extends Error {}

/** The options in `argv`, or `{ help: true }`; throws UsageError saying what is wrong. */
export function parseBenchOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        url: { type: 'string', multiple: true },
        'database-url': { type: 'string' },
        seconds: { type: 'string', default: '10' },
        // Unreported load first, so that every scenario meets warm JIT-compiled code and filled pools.
        'warm-up': { type: 'string', default: '5' },
        repeat: { type: 'string', default: '1' },
        'booking-replicas': { type: 'string', default: '1' },
        'gateway-replicas': { type: 'string', default: '1' },
        without: { type: 'string', multiple: true, default: [] },
        'notification-events': { type: 'string', default: '20000' },
        scenarios: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) return { help: true };

  const count = (option, min = 1) => {
    const value = Number(values[option]);
    if (Number.isInteger(value) && value >= min) return value;
    throw new UsageError(`--${option} must be a whole number of at least ${min}, not '${values[option]}'`);
  };
  const list = (text) => text.split(',').filter(Boolean);
  const options = {
    seconds: count('seconds'),
    warmUpSeconds: count('warm-up', 0),
    repeat: count('repeat'),
    bookingReplicas: count('booking-replicas'),
    gatewayReplicas: count('gateway-replicas'),
    notificationEvents: count('notification-events'),
    urls: values.url,
    databaseUrl: values['database-url'],
    without: values.without.flatMap(list),
    scenarios: values.scenarios === undefined ? SCENARIO_IDS : list(values.scenarios),
  };

  const unknown = options.scenarios.filter((id) => !SCENARIO_IDS.includes(id));
  if (unknown.length > 0)
    throw new UsageError(`unknown scenario: ${unknown.join(', ')} (known: ${SCENARIO_IDS.join(', ')})`);
  const notOptional = options.without.filter((name) => !OPTIONAL_SERVICES.includes(name));
  if (notOptional.length > 0)
    throw new UsageError(
      `--without ${notOptional.join(', ')}: only ${OPTIONAL_SERVICES.join(', ')} can be left out ` +
        '(the load goes through api-gateway and booking-service)',
    );
  if (options.urls && !options.databaseUrl)
    throw new UsageError('--url needs --database-url, the database the checks read');
  if (options.urls && options.without.length > 0)
    throw new UsageError('--without leaves out a service the bench starts; with --url it starts none');

  // Both need a notification service the bench starts, and stops for a while.
  const why = options.urls
    ? 'with --url the bench starts no service'
    : options.without.includes('notification-service') && 'the notification service is left out';
  options.skipped = [];
  if (why && options.scenarios.includes('notification-drain')) {
    if (values.scenarios !== undefined) throw new UsageError(`notification-drain cannot run: ${why}`);
    options.scenarios = options.scenarios.filter((id) => id !== 'notification-drain');
    options.skipped.push(`notification drain (${why})`);
  }
  if (why && options.scenarios.includes('sustained-sale'))
    options.skipped.push(`${WITHOUT_NOTIFICATION_TITLE} (${why})`);
  return options;
}
