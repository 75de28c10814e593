import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Metrics, type MetricDefinition } from './definitions.js';

/**
 * A registry of one service instance with Node's process metrics (CPU,
 * memory, heap, event-loop lag, GC). Each instance gets its own registry, so
 * several can run in one process (as in the tests) without sharing counts.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

type Labels<D extends MetricDefinition> = D['labelNames'][number];

const options = <D extends MetricDefinition>(definition: D, registry: Registry) => ({
  name: definition.name,
  help: definition.help,
  labelNames: definition.labelNames as Labels<D>[],
  registers: [registry],
});

export const counter = <D extends MetricDefinition>(definition: D, registry: Registry) =>
  new Counter<Labels<D>>(options(definition, registry));

export const gauge = <D extends MetricDefinition>(
  definition: D,
  registry: Registry,
  collect?: (this: Gauge<Labels<D>>) => void | Promise<void>,
) => new Gauge<Labels<D>>({ ...options(definition, registry), ...(collect && { collect }) });

export const histogram = <D extends MetricDefinition>(definition: D, registry: Registry) =>
  new Histogram<Labels<D>>({ ...options(definition, registry), buckets: definition.buckets });

/** HTTP metrics every service's Fastify listener records (see installHttpMetrics). */
export const createHttpMetrics = (registry: Registry) => ({
  requestDuration: histogram(Metrics.httpRequestDuration, registry),
});
export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

/** The view of a pg.Pool the pool gauges read at scrape time. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** PostgreSQL metrics: statement latency is observed by `instrumentPool`, pool usage read at scrape time. */
export function createDatabaseMetrics(registry: Registry, pool: PoolStats, maxConnections: number) {
  gauge(Metrics.dbPoolConnections, registry, function () {
    this.set({ state: 'total' }, pool.totalCount);
    this.set({ state: 'idle' }, pool.idleCount);
    this.set({ state: 'waiting' }, pool.waitingCount);
  });
  gauge(Metrics.dbPoolMaxConnections, registry).set(maxConnections);
  return { queryDuration: histogram(Metrics.dbQueryDuration, registry) };
}
export type DatabaseMetrics = ReturnType<typeof createDatabaseMetrics>;
