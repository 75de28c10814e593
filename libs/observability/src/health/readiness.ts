import { ServiceUnavailableException } from '@nestjs/common';
import type {
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';

/** How long a dependency may take to answer a readiness probe. */
export const READINESS_TIMEOUT_MS = 1_000;

/** The NATS connection's round trip: answers only while connected to a server that responds. */
export const natsCheck =
  (indicators: HealthIndicatorService, key: string, connection: () => { rtt(): Promise<number> }) =>
  (): PromiseLike<HealthIndicatorResult> =>
    indicators
      .check(key)
      .attempt(async () => ({ rttMs: await connection().rtt() }))
      .withTimeout(READINESS_TIMEOUT_MS);

/** `SELECT 1` through the service's own pool: answers only when PostgreSQL accepts connections and queries. */
export const postgresCheck =
  (indicators: HealthIndicatorService, key: string, pool: { query(sql: string): Promise<unknown> }) =>
  (): PromiseLike<HealthIndicatorResult> =>
    indicators
      .check(key)
      .attempt(async () => {
        await pool.query('SELECT 1');
      })
      .withTimeout(READINESS_TIMEOUT_MS);

/**
 * Runs the checks; when one fails, answers 503 with a message naming each
 * dependency that is down and why, in the `{ message, error, statusCode }` shape.
 */
export async function checkReadiness(health: HealthCheckService, checks: HealthIndicatorFunction[]) {
  try {
    return await health.check(checks);
  } catch (error) {
    const details = (error as { getResponse?: () => unknown }).getResponse?.() as
      { error?: Record<string, { message?: string }> } | undefined;
    if (!details?.error) throw error;
    const down = Object.entries(details.error).map(([key, value]) => `${key} (${value.message ?? 'no answer'})`);
    throw new ServiceUnavailableException(`Not ready: ${down.join(', ')} unavailable`);
  }
}
