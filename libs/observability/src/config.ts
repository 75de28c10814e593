import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Variables every service reads for logging. Per-request logs are `debug`, so the default `info` keeps the hot path quiet. */
export const observabilityEnvSchema = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});
export type ObservabilityConfig = z.infer<typeof observabilityEnvSchema>;
