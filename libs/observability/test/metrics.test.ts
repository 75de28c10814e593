import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CircuitState,
  createDatabaseMetrics,
  createGatewayMetrics,
  createMetricsRegistry,
  createConsumerLagMetrics,
  createDeliveryMetrics,
  createOutboxMetrics,
  instrumentQueries,
  METRIC_DEFINITIONS,
  queryOperation,
} from '../src/index.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function sample(registry: ReturnType<typeof createMetricsRegistry>, name: string) {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values;
}

describe('metric definitions', () => {
  it('are unique, Prometheus-conformant and free of unbounded labels', () => {
    const names = METRIC_DEFINITIONS.map((definition) => definition.name);
    expect(new Set(names).size).toBe(names.length);
    for (const definition of METRIC_DEFINITIONS) {
      expect(definition.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      if (definition.type === 'counter') expect(definition.name).toMatch(/_total$/);
      if (definition.type === 'histogram') expect(definition.buckets?.length).toBeGreaterThan(3);
      for (const label of definition.labelNames) expect(label).not.toMatch(/user|event_id|booking_id|^id$|url|path/);
    }
  });
});

describe('database metrics on a real pool', () => {
  const pool = new pg.Pool({ connectionString: ADMIN_URL, max: 2 });
  afterAll(() => pool.end());

  it('times statements by operation and outcome, and reads pool usage at scrape time', async () => {
    const registry = createMetricsRegistry();
    instrumentQueries(pool, createDatabaseMetrics(registry, pool, 2));
    await pool.query('SELECT 1');
    await pool.query({ text: 'select $1::int', values: [2] });
    await expect(pool.query('SELECT * FROM no_such_table_for_metrics')).rejects.toThrow();
    await new Promise<void>((resolve, reject) =>
      pool.query('SELECT 1', (error) => (error ? reject(error) : resolve())),
    );

    const counts = (await sample(registry, 'db_query_duration_seconds'))
      .filter((value) => value.metricName === 'db_query_duration_seconds_count')
      .map((value) => [value.labels.operation, value.labels.outcome, value.value]);
    expect(counts).toEqual(
      expect.arrayContaining([
        ['select', 'ok', 2],
        ['select', 'error', 1],
      ]),
    );
    const poolValues = Object.fromEntries(
      (await sample(registry, 'db_pool_connections')).map((value) => [value.labels.state, value.value]),
    );
    expect(poolValues.total).toBeGreaterThanOrEqual(1);
    expect(poolValues.waiting).toBe(0);
    expect((await sample(registry, 'db_pool_max_connections'))[0]!.value).toBe(2);
  });

  it('labels statements by their first keyword only', () => {
    expect(queryOperation('  WITH inserted AS (...) SELECT 1')).toBe('with');
    expect(queryOperation('insert into bookings ...')).toBe('insert');
    expect(queryOperation('VACUUM')).toBe('other');
    expect(queryOperation('')).toBe('other');
  });
});

describe('metrics for features wired elsewhere', () => {
  it('outbox backlog and consumer lag are read at scrape time', async () => {
    const registry = createMetricsRegistry();
    let backlog = { pending: 3, oldestAgeSeconds: 12.5 };
    const outbox = createOutboxMetrics(registry, async () => backlog);
    createConsumerLagMetrics(registry, async () => ({ pending: 7, ackPending: 2 }));
    const notifications = createDeliveryMetrics(registry);
    outbox.published.inc({ outcome: 'ok' });
    notifications.deliveries.inc({ channel: 'webhook', result: 'delivered' });
    notifications.deliveryDuration.observe({ channel: 'webhook' }, 0.02);

    const text = await registry.metrics();
    expect(text).toContain('outbox_pending_events 3');
    expect(text).toContain('outbox_oldest_pending_age_seconds 12.5');
    expect(text).toContain('notification_consumer_pending_messages 7');
    expect(text).toContain('notification_consumer_ack_pending_messages 2');
    expect(text).toContain('notification_deliveries_total{channel="webhook",result="delivered"} 1');
    backlog = { pending: 0, oldestAgeSeconds: 0 };
    expect(await registry.metrics()).toContain('outbox_pending_events 0');
    // A source that is down keeps the last value and does not fail the scrape.
    const failing = createMetricsRegistry();
    createConsumerLagMetrics(failing, () => Promise.reject(new Error('NATS is down')));
    expect(await failing.metrics()).toContain('notification_consumer_pending_messages 0');
  });

  it('rate-limit rejections and breaker state', async () => {
    const registry = createMetricsRegistry();
    const resilience = createGatewayMetrics(registry);
    resilience.rateLimitRejections.inc({ limit: 'user' });
    resilience.circuitBreakerState.set({ breaker: 'booking-service' }, CircuitState.open);
    const text = await registry.metrics();
    expect(text).toContain('rate_limit_rejections_total{limit="user"} 1');
    expect(text).toContain('circuit_breaker_state{breaker="booking-service"} 2');
  });
});
