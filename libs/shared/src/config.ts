import { setFlagsFromString } from 'node:v8';
import { z } from 'zod';
import { namespaceSchema } from './names.js';
import { natsConnectionEnvSchema } from './nats-connection.js';

/** Variables every service reads. Defaults serve a local run (NATS without credentials or TLS). */
export const commonEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ...natsConnectionEnvSchema.shape,
  /** Separates deployments sharing one NATS and Redis: stream, subjects, queue group, Redis keys (see `namesFor`). */
  BOOKING_NAMESPACE: namespaceSchema,
  /** How long the gateway waits for the booking service's reply; sent with each request as its deadline. */
  NATS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** After SIGTERM the process exits within this time, whatever it is still waiting on. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
});

export const databaseEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'must be a postgresql:// URL' })
    .default('postgresql://postgres@127.0.0.1:5432/booking_db'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** PostgreSQL cancels a statement that runs longer; the client gives up one second after that. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  /** PostgreSQL ends a session left idle inside a transaction this long (a client gone mid-transaction). */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
});

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration written with its unit ("90s", "15m", "36h", "7d"), or "0" for none, as milliseconds. */
export const durationMs = z
  .string()
  .trim()
  .regex(/^(0|\d+[smhd])$/, { error: 'must be 0 or a whole number with a unit s, m, h or d (e.g. 7d)' })
  .transform((value) =>
    value === '0' ? 0 : Number(value.slice(0, -1)) * DURATION_UNIT_MS[value.at(-1) as keyof typeof DURATION_UNIT_MS],
  );

/** How the services delete rows past their retention (see RetentionJob in @booking/database). */
export const retentionEnvSchema = z.object({
  /** Time between two retention passes of a replica; one replica at a time runs a pass. */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  /** Rows one DELETE removes at most: each is a short transaction, holding few locks. */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** Pause between two DELETEs, so that a large backlog is worked off without crowding the write path. */
  RETENTION_BATCH_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(100),
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `env` with `schema`. A bad variable stops start-up with a message
 * naming it, e.g. "Invalid configuration: PORT: Too big: expected number to be <=65535".
 */
export function loadConfig<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/**
 * Loads a service's configuration and starts it. A configuration error ends
 * the process with its one-line message instead of a stack trace. Once SIGTERM
 * or SIGINT arrives, the process exits within SHUTDOWN_TIMEOUT_MS even if a
 * graceful step hangs (a dependency that stopped answering).
 *
 * First it turns off V8's allocation-site pretenuring. Under load V8 may decide
 * that objects made at some allocation site (a request's) live long and
 * allocate them in the old generation from then on; they do not, so the old
 * generation fills with garbage and full collections follow each other for the
 * rest of the process's life. Set here because NODE_OPTIONS does not accept the flag.
 */
export async function runService<C extends { SHUTDOWN_TIMEOUT_MS: number }>(
  load: () => C,
  start: (config: C) => Promise<unknown>,
): Promise<void> {
  setFlagsFromString('--no-allocation-site-pretenuring');
  let config: C;
  try {
    config = load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
    return;
  }
  exitWithin(config.SHUTDOWN_TIMEOUT_MS);
  await start(config);
}

function exitWithin(timeoutMs: number): void {
  const arm = (signal: NodeJS.Signals) => {
    const timer = setTimeout(() => {
      console.error(`Shutdown after ${signal} did not finish within ${timeoutMs} ms; exiting now`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
  };
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}
