// The scenarios, and how each run is measured: per-process cost around the
// load, the event backlog when it stops and how long it takes to drain, and
// the database checks after it.
import { startBareNodeServer, pgbenchReserve } from './baselines.mjs';
import { checkInvariants } from './checks.mjs';
import { runLoad } from './load.mjs';
import { measureNotificationDrain } from './notification-drain.mjs';
import { titleOf, WITHOUT_NOTIFICATION_TITLE } from './options.mjs';
import { perUnitCost, startSample } from './process-cost.mjs';

/** How long the events of one run may take to drain before the bench moves on (and reports "not drained"). */
const DRAIN_DEADLINE_MS = 120_000;
const CONNECTIONS = 200;
/** The crowd refreshing the event page during a sale. */
const STORM_CONNECTIONS = 1000;
const RESERVE = '/api/bookings/reserve';

const throughput = (run) => run.requestsPerSecond ?? run.transactionsPerSecond ?? run.eventsPerSecond;

/**
 * Runs the scenarios `options.scenarios` selects, in a fixed order, against `targets`; returns the reported
 * rows (per scenario, its median run) and whether every check passed in every run.
 * `system` and `backlog` are undefined when the bench targets a system it did not start (`--url`).
 */
export async function runScenarios({ options, targets, databaseUrl, pool, system, backlog, progress }) {
  const { seconds, repeat } = options;
  const selected = new Set(options.scenarios);
  const rows = [];
  let checksPassed = true;
  const loadGenerator = { name: 'load generator', partOfSystem: false, pids: async () => [process.pid] };
  const systemGroups = system && (() => [...system.processGroups(pool), loadGenerator]);

  async function createEvent(totalSeats, name) {
    const { rows } = await pool.query('INSERT INTO events (name, total_seats) VALUES ($1, $2) RETURNING id', [
      name,
      totalSeats,
    ]);
    return rows[0].id;
  }
  // Each request body gets a user id no other request of the run uses: distinct buyers.
  const reserve = (eventIds) => (n) => ({ event_id: eventIds[n % eventIds.length], user_id: `bench-user-${n}` });
  const sale = (connections) => (eventIds) =>
    runLoad({ targets, path: RESERVE, method: 'POST', connections, seconds, body: reserve(eventIds) });

  /**
   * One run of `definition`: its load, measured; the booking events it caused (unless `bookings: false`),
   * drained; the database, checked. `groups(context)`: the processes whose cost is measured (null: none).
   */
  async function measure({ title, connections, setup, load, teardown, groups = systemGroups, bookings = true }) {
    const context = await setup?.();
    const sequenceBefore = backlog && bookings ? await backlog.lastSequence() : undefined;
    const sample = groups && (await startSample(groups(context)));
    let result;
    let stoppedAt;
    try {
      result = await load(context);
      stoppedAt = performance.now();
      if (sequenceBefore !== undefined) result.backlogAtStop = await backlog.read();
      // Before the teardown stops a process (the bare server); the drain's work is still counted after it.
      await sample?.update();
    } finally {
      await teardown?.(context);
    }
    if (sequenceBefore !== undefined) {
      result.drainedAfterMs = await backlog.waitDrained(DRAIN_DEADLINE_MS, stoppedAt);
      if (result.drainedAfterMs === undefined) progress(`  events of ${title} not drained in ${DRAIN_DEADLINE_MS} ms`);
      result.events = (await backlog.lastSequence()) - sequenceBefore;
    }
    if (sample)
      result.processes = perUnitCost(await sample.finish(), { requests: result.answered, events: result.events });
    result.check = await checkInvariants(pool);
    if (!result.check.ok) {
      checksPassed = false;
      progress(`INVARIANT VIOLATED after ${title}: ${JSON.stringify(result.check)}`);
    }
    return { connections, ...result };
  }

  /**
   * Runs each definition `repeat` times in rounds (a, b, a, b, …) rather than one after the other, so that
   * scenarios compared by a ratio meet the same moments of a shared, noisy machine: run i of one is paired
   * with run i of the other. Reports, per definition, the run with the median throughput (so its
   * latencies belong to one real run) and every run's throughput.
   */
  async function interleaved(...definitions) {
    const runs = definitions.map(() => []);
    for (let i = 0; i < repeat; i++) {
      for (const [d, definition] of definitions.entries()) {
        const of = repeat > 1 ? ` (run ${i + 1}/${repeat})` : '';
        const at = definition.connections ? ` @ ${definition.connections} connections` : '';
        progress(`${definition.title}${at}${of}…`);
        runs[d].push(await measure(definition));
      }
    }
    for (const [d, { title, label = title }] of definitions.entries()) {
      const sorted = [...runs[d]].sort((a, b) => throughput(a) - throughput(b));
      const median = sorted[Math.floor(sorted.length / 2)];
      const row = { scenario: title, label, ...median, runs: runs[d].map(throughput) };
      rows.push(row);
      progress(`  → ${label}: ${throughput(row)}/s (runs: ${row.runs.join(', ')})`);
    }
  }

  /** The sustained sale with a crowd polling the event's page beside it: the bookings are the row, the reads `storm`. */
  function refreshStorm(oneEvent) {
    return {
      title: titleOf('refresh-storm'),
      connections: CONNECTIONS,
      setup: oneEvent,
      load: async (eventIds) => {
        const [bookings, reads] = await Promise.all([
          sale(CONNECTIONS)(eventIds),
          runLoad({ targets, path: `/api/events/${eventIds[0]}`, connections: STORM_CONNECTIONS, seconds }),
        ]);
        const { requestsPerSecond, latencyMs, statuses, socketErrors } = reads;
        return {
          ...bookings,
          storm: { connections: STORM_CONNECTIONS, requestsPerSecond, latencyMs, statuses, socketErrors },
        };
      },
    };
  }

  if (options.warmUpSeconds > 0) {
    progress(`warm-up, ${options.warmUpSeconds}s (not reported)…`);
    const eventId = await createEvent(1_000_000, 'warm-up');
    const half = Math.max(1, Math.round(options.warmUpSeconds / 2));
    await runLoad({
      targets,
      path: RESERVE,
      method: 'POST',
      connections: CONNECTIONS,
      seconds: half,
      body: reserve([eventId]),
    });
    await runLoad({ targets, path: `/api/events/${eventId}`, connections: CONNECTIONS, seconds: half });
    await backlog?.waitDrained(DRAIN_DEADLINE_MS);
  }

  if (selected.has('sustained-sale')) {
    // More seats than any run can request: every answer is a booking.
    const oneEvent = async () => [await createEvent(100_000_000, 'sustained sale')];
    const sustained = {
      title: titleOf('sustained-sale'),
      connections: CONNECTIONS,
      setup: oneEvent,
      load: sale(CONNECTIONS),
    };
    const withoutNotification = {
      ...sustained,
      title: WITHOUT_NOTIFICATION_TITLE,
      setup: async () => {
        await system.stopService('notification-service');
        return oneEvent();
      },
      // Started again before the next run, which then finds the backlog drained.
      teardown: () => system.startService('notification-service'),
    };
    await interleaved(
      sustained,
      ...(system?.runs('notification-service') ? [withoutNotification] : []),
      ...(selected.has('refresh-storm') ? [refreshStorm(oneEvent)] : []),
    );
  } else if (selected.has('refresh-storm')) {
    await interleaved(refreshStorm(async () => [await createEvent(100_000_000, 'refresh storm')]));
  }
  if (selected.has('sell-out')) {
    const seats = 1000;
    await interleaved({
      title: titleOf('sell-out'),
      connections: CONNECTIONS,
      setup: async () => [await createEvent(seats, 'sell-out')],
      load: async (eventIds) => ({ seats, ...(await sale(CONNECTIONS)(eventIds)) }),
    });
  }
  if (selected.has('seed-baseline')) {
    for (const connections of [50, 100, 200]) {
      await interleaved({
        title: titleOf('seed-baseline'),
        // Reported at three concurrencies: each row carries its own.
        label: `${titleOf('seed-baseline')} @ ${connections}`,
        connections,
        setup: async () => {
          const ids = [];
          for (let i = 0; i < 100; i++) ids.push(await createEvent(1_000_000, `baseline ${i}`));
          return ids;
        },
        load: sale(connections),
      });
    }
  }
  const read = {
    title: titleOf('read-path'),
    connections: CONNECTIONS,
    bookings: false,
    setup: () => createEvent(1000, 'read'),
    load: (id) => runLoad({ targets, path: `/api/events/${id}`, connections: CONNECTIONS, seconds }),
  };
  const bare = {
    title: titleOf('bare-node'),
    connections: CONNECTIONS,
    bookings: false,
    setup: startBareNodeServer,
    load: (server) => runLoad({ targets: [server.url], path: '/', connections: CONNECTIONS, seconds }),
    teardown: (server) => server.stop(),
    groups: (server) => [
      { name: titleOf('bare-node'), partOfSystem: false, pids: async () => [server.pid] },
      loadGenerator,
    ],
  };
  // Each read is a new request for the same event, ready before the run starts (a gateway just restarted warmed up).
  const readEvent = async (target) => {
    const id = await createEvent(1000, 'read');
    await runLoad({ targets: [target], path: `/api/events/${id}`, connections: 50, seconds: 1 });
    return id;
  };
  const readUncached = system && {
    ...read,
    title: titleOf('read-path-uncached'),
    setup: async () => {
      await system.restartService('api-gateway', { READ_CACHE_TTL_MS: '0' });
      return readEvent(targets[0]);
    },
    teardown: () => system.restartService('api-gateway', {}),
  };
  const readThroughNginx = system && {
    ...read,
    title: titleOf('read-path-nginx'),
    setup: async () => {
      const nginx = await system.startEdge();
      return { nginx, id: await readEvent(nginx.baseUrl) };
    },
    load: ({ nginx, id }) =>
      runLoad({ targets: [nginx.baseUrl], path: `/api/events/${id}`, connections: CONNECTIONS, seconds }),
    teardown: ({ nginx }) => nginx.stop(),
    groups: ({ nginx }) => [...systemGroups(), { name: 'nginx', partOfSystem: true, pids: async () => nginx.pids() }],
  };
  for (const [id, definition] of [
    ['read-path-uncached', readUncached],
    ['read-path-nginx', readThroughNginx],
  ]) {
    if (selected.has(id) && !definition) progress(`${id} skipped: it needs the system the bench starts (not --url)`);
  }
  // The read paths are judged against the bare server: their runs alternate.
  const compared = [
    selected.has('read-path') && read,
    selected.has('read-path-uncached') && readUncached,
    selected.has('read-path-nginx') && readThroughNginx,
    selected.has('bare-node') && bare,
  ].filter(Boolean);
  if (compared.length > 0) await interleaved(...compared);

  if (selected.has('notification-drain')) {
    await interleaved({
      title: titleOf('notification-drain'),
      bookings: false,
      groups: null,
      setup: () => system.stopService('notification-service'),
      load: async () => {
        const { cpuMs, databaseCpuMs, peakRssMb, ...drain } = await measureNotificationDrain({
          natsUrl: system.nats.url,
          databaseUrl: system.databaseUrl,
          namespace: system.names.namespace,
          events: options.notificationEvents,
        });
        const notification = { name: 'notification-service', partOfSystem: true, per: 'event', cpuMs, peakRssMb };
        const database = { name: 'postgresql', partOfSystem: true, per: 'event', cpuMs: databaseCpuMs };
        return { ...drain, processes: perUnitCost([notification, database], { events: drain.events }) };
      },
      teardown: () => system.startService('notification-service'),
    });
  }
  if (selected.has('pgbench')) {
    await interleaved({
      title: titleOf('pgbench'),
      connections: 32,
      bookings: false,
      groups: null,
      // Seats never run out here: every transaction is a full booking on the one hot event row.
      setup: () => createEvent(100_000_000, 'pgbench hot row'),
      load: (eventId) => pgbenchReserve({ databaseUrl, eventId, clients: 32, seconds }),
    });
  }
  return { rows, checksPassed };
}
