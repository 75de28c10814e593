import { parseArgs } from 'node:util';
import { connectDatabase } from '@booking/database';
import {
  checkNatsConnection,
  commonEnvSchema,
  databaseEnvSchema,
  loadConfig,
  namesFor,
  natsConnectionOptions,
} from '@booking/shared';
import { connect } from '@nats-io/transport-node';
import { formatReport, parseSince, replayBookingEvents } from './replay.js';

/**
 * `pnpm events:replay [--since <ISO time | 15m | 2h | 7d>] [--json]`: rebuilds
 * per-event booking counts from the JetStream stream of BOOKING_NAMESPACE and
 * reports whether they match PostgreSQL at DATABASE_URL (the same deployment's). Exit code 0 when they match, 1 when they differ, 2 on error.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { since: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  const since = values.since === undefined ? undefined : parseSince(values.since);
  const config = loadConfig(
    commonEnvSchema.extend(databaseEnvSchema.shape).superRefine(checkNatsConnection),
    process.env,
  );
  const nats = await connect({ ...natsConnectionOptions(config, 'events-replay'), timeout: 5_000 });
  const database = connectDatabase(config.DATABASE_URL, { poolSize: 1, applicationName: 'events-replay' });
  try {
    const stream = namesFor(config.BOOKING_NAMESPACE).eventsStream;
    const report = await replayBookingEvents(nats, database.pool, { stream, since });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.matches ? 0 : 1;
  } finally {
    await Promise.allSettled([nats.close(), database.close()]);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
