import { setFlagsFromString } from 'node:v8';
import { z } from 'zod';

/** Variables every service reads. Defaults serve a local run. */
export const commonEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  NATS_URL: z.string().min(1).default('nats://localhost:4222'),
  NATS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
});

export const databaseEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'must be a postgresql:// URL' })
    .default('postgresql://postgres@127.0.0.1:5432/booking_db'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
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
 * Runs a service's start function; a configuration error ends the process
 * with its one-line message instead of a stack trace.
 *
 * First it turns off V8's allocation-site pretenuring. Under load V8 may decide
 * that objects made at some allocation site (a request's) live long and
 * allocate them in the old generation from then on; they do not, so the old
 * generation fills with garbage and full collections follow each other for the
 * rest of the process's life. Four gateways in ten started under load did so,
 * at about two thirds of their throughput (docs/performance.md). Set here
 * because NODE_OPTIONS does not accept the flag.
 */
export async function runService(start: () => Promise<unknown>): Promise<void> {
  setFlagsFromString('--no-allocation-site-pretenuring');
  try {
    await start();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  }
}
