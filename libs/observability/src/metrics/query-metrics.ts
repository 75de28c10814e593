import type { DatabaseMetrics } from './registry.js';

const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback']);
const FIRST_WORD = /^\s*([a-zA-Z]+)/;

/** The statement's first keyword as a bounded label value. */
export function queryOperation(sql: string): string {
  const word = FIRST_WORD.exec(sql)?.[1]?.toLowerCase();
  return word !== undefined && OPERATIONS.has(word) ? word : 'other';
}

type Queryable = { query: (...args: never[]) => unknown };

/**
 * Times every promise-returning `query` call on a pg Pool (which is how
 * Drizzle and the health check reach PostgreSQL), labelled by operation and
 * outcome. Callback-style calls pass through untimed.
 */
export function instrumentQueries<T extends Queryable>(target: T, metrics: DatabaseMetrics): T {
  const original = target.query.bind(target) as (...args: unknown[]) => unknown;
  const timed = (...args: unknown[]): unknown => {
    if (typeof args.at(-1) === 'function') return original(...args);
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
    const operation = queryOperation(text);
    const started = performance.now();
    const result = original(...args) as Promise<unknown>;
    result.then(
      () => metrics.queryDuration.observe({ operation, outcome: 'ok' }, (performance.now() - started) / 1000),
      () => metrics.queryDuration.observe({ operation, outcome: 'error' }, (performance.now() - started) / 1000),
    );
    return result;
  };
  (target as { query: unknown }).query = timed;
  return target;
}
