import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, METRIC_DEFINITIONS, runWithCorrelationId, type MetricDefinition } from '@booking/observability';
import { prometheusBinary } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LogCapture, Stack } from '../support/stack.js';

const MONITORING = fileURLToPath(new URL('../../../../infrastructure/monitoring/', import.meta.url));
const APPS = fileURLToPath(new URL('../../../', import.meta.url));
const file = (path: string) => join(MONITORING, path);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const yaml = (path: string): any => parseYaml(readFileSync(file(path), 'utf8'));

interface Panel {
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  targets: { datasource: { type: string; uid: string }; expr?: string; rawSql?: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

const dashboards: Dashboard[] = readdirSync(file('grafana/dashboards'))
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(file(`grafana/dashboards/${name}`), 'utf8')));

/** Metric names in a PromQL expression: what is left once strings, matchers, ranges, grouping and functions are gone. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    if (!match[2] && !keywords.has(match[1]!.toLowerCase())) names.add(match[1]!);
  }
  return [...names];
}

/** Every PromQL expression of the dashboards and alert rules, with where it is used. */
function promqlExpressions(): { where: string; expr: string }[] {
  const expressions = dashboards.flatMap((dashboard) =>
    dashboard.panels.flatMap((panel) =>
      panel.targets
        .filter((target) => target.datasource.uid === 'prometheus')
        .map((target) => ({ where: `dashboard "${dashboard.title}" panel "${panel.title}"`, expr: target.expr! })),
    ),
  );
  const rules = yaml('prometheus/alerts.yml') as { groups: { rules: { alert: string; expr: string }[] }[] };
  for (const group of rules.groups) {
    for (const rule of group.rules) expressions.push({ where: `alert ${rule.alert}`, expr: rule.expr });
  }
  return expressions;
}

/** `# TYPE name type` lines of a /metrics page: every metric the instance exports, observed or not. */
async function exportedMetrics(baseUrl: string): Promise<Map<string, string>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

/** The exported metric a sample name belongs to (`x_bucket` → histogram `x`). */
function baseName(name: string, exported: Map<string, string>): string | undefined {
  if (exported.has(name)) return name;
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return ['histogram', 'summary'].includes(exported.get(base) ?? '') ? base : undefined;
}

describe('committed monitoring configuration', () => {
  it('passes promtool check config and check rules', () => {
    const promtool = prometheusBinary('promtool');
    const config = execFileSync(promtool, ['check', 'config', file('prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(config).toContain('SUCCESS');
    const rules = execFileSync(promtool, ['check', 'rules', file('prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(rules).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('scrapes every service and alerts on each failure the runbook names', () => {
    const config = yaml('prometheus/prometheus.yml');
    const jobs = config.scrape_configs.map((job: { job_name: string }) => job.job_name);
    expect(jobs).toEqual(expect.arrayContaining(['api-gateway', 'booking-service', 'notification-service']));
    const alerts = yaml('prometheus/alerts.yml').groups.flatMap((group: { rules: { alert: string }[] }) =>
      group.rules.map((rule) => rule.alert),
    );
    expect(alerts).toEqual(
      expect.arrayContaining([
        'ServiceDown',
        'HighServerErrorRatio',
        'ReservationLatencyHigh',
        'OutboxBacklogStale',
        'NotificationConsumerLag',
        'CircuitBreakerOpen',
      ]),
    );
  });

  it('provisions the data sources every dashboard panel refers to', () => {
    const datasources = yaml('grafana/provisioning/datasources/datasources.yml').datasources as {
      uid: string;
      type: string;
    }[];
    const byUid = new Map(datasources.map((source) => [source.uid, source.type]));
    expect([...byUid.values()]).toEqual(expect.arrayContaining(['prometheus', 'loki']));
    expect(dashboards.map((dashboard) => dashboard.uid).sort()).toEqual(['booking-overview', 'system-health']);
    for (const dashboard of dashboards) {
      const ids = dashboard.panels.map((panel) => (panel as unknown as { id: number }).id);
      expect(new Set(ids).size, dashboard.title).toBe(ids.length);
      for (const panel of dashboard.panels) {
        expect(panel.targets.length, panel.title).toBeGreaterThan(0);
        for (const source of [panel.datasource, ...panel.targets.map((target) => target.datasource)]) {
          expect(byUid.get(source.uid), `${dashboard.title} / ${panel.title}`).toBe(source.type);
        }
      }
    }
    const provider = yaml('grafana/provisioning/dashboards/dashboards.yml').providers[0];
    expect(provider).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
  });

  it('is mounted by both compose files where Prometheus and Grafana look for it', () => {
    const provider = yaml('grafana/provisioning/dashboards/dashboards.yml').providers[0];
    for (const compose of ['docker-compose.yml', 'docker-compose.dev.yml']) {
      const services = yaml(`../${compose}`).services;
      expect(services.prometheus.volumes, compose).toContain('./monitoring/prometheus:/etc/prometheus:ro');
      expect(services.grafana.volumes, compose).toContain(
        `./monitoring/grafana/dashboards:${provider.options.path}:ro`,
      );
      expect(services.loki.volumes, compose).toContain('./monitoring/loki/loki.yml:/etc/loki/loki.yml:ro');
      expect(services.promtail.volumes, compose).toContain(
        './monitoring/promtail/promtail.yml:/etc/promtail/promtail.yml:ro',
      );
      // The variables the PostgreSQL data source reads.
      for (const name of ['GRAFANA_DB_NAME', 'GRAFANA_DB_USER', 'GRAFANA_DB_PASSWORD']) {
        expect(services.grafana.environment, `${compose} ${name}`).toHaveProperty(name);
      }
    }
  });

  it('has the dashboards an operator needs', () => {
    const titles = (uid: string) => dashboards.find((dashboard) => dashboard.uid === uid)!.panels.map((p) => p.title);
    expect(titles('booking-overview')).toEqual(
      expect.arrayContaining([
        'Reservations per second by outcome',
        'Reserve latency (gateway, end to end)',
        'Gateway 5xx ratio',
        'Seats sold per event',
      ]),
    );
    const overview = JSON.stringify(dashboards.find((dashboard) => dashboard.uid === 'booking-overview'));
    for (const quantile of ['0.5', '0.95', '0.99']) expect(overview).toContain(`histogram_quantile(${quantile},`);
    expect(titles('system-health')).toEqual(
      expect.arrayContaining([
        'CPU (cores)',
        'Resident memory',
        'Event loop lag p99',
        'PostgreSQL pool',
        'NATS handler p95 (booking service)',
        'Outbox backlog',
        'Notification consumer lag',
      ]),
    );
  });

  it('ships JSON logs to Loki with the labels the dashboards query, taken from the fields the services write', () => {
    const loki = yaml('loki/loki.yml');
    const promtail = yaml('promtail/promtail.yml');
    expect(promtail.clients[0].url).toBe(`http://loki:${loki.server.http_listen_port}/loki/api/v1/push`);

    const capture = new LogCapture();
    const logger = createLogger({ service: 'booking-service', level: 'info', destination: capture });
    runWithCorrelationId('ship-me', () => logger.warn('a line to ship'));
    const [line] = capture.lines();

    for (const job of promtail.scrape_configs) {
      const stages = job.pipeline_stages as Record<string, Record<string, unknown>>[];
      const json = stages.find((stage) => stage.json)!.json!.expressions as Record<string, string>;
      // Every field the pipeline extracts is one the logger writes.
      for (const field of Object.values(json)) expect(line, `${job.job_name}: ${field}`).toHaveProperty(field);
      const labels = Object.keys(stages.find((stage) => stage.labels)!.labels!);
      expect(labels.sort()).toEqual(['level', 'service']);
      expect(Object.keys(stages.find((stage) => stage.structured_metadata)!.structured_metadata!)).toEqual([
        'correlationId',
      ]);
      const timestamp = stages.find((stage) => stage.timestamp)!.timestamp as { source: string; format: string };
      expect(new Date(line[timestamp.source]).toISOString()).toBe(line[timestamp.source]);
    }
    expect(line).toMatchObject({ service: 'booking-service', level: 'warn', correlationId: 'ship-me' });

    // Loki queries in the dashboards select only by labels promtail sets.
    const lokiQueries = dashboards.flatMap((dashboard) =>
      dashboard.panels.flatMap((panel) => panel.targets.filter((t) => t.datasource.uid === 'loki').map((t) => t.expr!)),
    );
    expect(lokiQueries.length).toBeGreaterThan(0);
    for (const query of lokiQueries) {
      const selector = /^\{([^}]*)\}/.exec(query)![1]!;
      for (const [, label] of selector.matchAll(/(\w+)\s*=~?/g)) expect(['service', 'level']).toContain(label);
    }
  });
});

describe('every metric the dashboards and alerts use is exported by the service that should export it', () => {
  let stack: Stack;
  /** Live /metrics of the services that exist in this code base, by service name. */
  const live = new Map<string, Map<string, string>>();

  beforeAll(async () => {
    stack = await Stack.start();
    live.set('api-gateway', await exportedMetrics(stack.baseUrl));
    live.set('booking-service', await exportedMetrics(stack.replicaUrls[0]!));
    await stack.startNotificationProcess();
    live.set('notification-service', await exportedMetrics(stack.notificationUrl));
  });

  /**
   * A service without its `apps/` folder is not written yet: what it should
   * export is reported as pending. Once the folder exists, this test must
   * scrape it (add it to `live` above), or it fails.
   */
  const notWrittenYet = (service: string) => !existsSync(join(APPS, service));

  it('scrapes every service that exists in the code base', () => {
    const services = new Set(METRIC_DEFINITIONS.flatMap((definition) => definition.exportedBy));
    const unscraped = [...services].filter((service) => !live.has(service) && !notWrittenYet(service));
    expect(unscraped, 'start these services in this test and add their /metrics to `live`').toEqual([]);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('finds the metric names in PromQL', () => {
    expect(
      metricNamesIn(
        'sum by (le, job) (rate(http_request_duration_seconds_bucket{route="/x", job=~"a|b"}[$__rate_interval])) / clamp_min(sum(up), 1e-9) > bool 0.5',
      ).sort(),
    ).toEqual(['http_request_duration_seconds_bucket', 'up']);
  });

  /** Problems (a used metric nothing exports) and pending metrics (feature not merged yet) among `expressions`. */
  function checkExpressions(expressions: { where: string; expr: string }[]) {
    const definitions = new Map<string, MetricDefinition>(METRIC_DEFINITIONS.map((d) => [d.name, d]));
    const problems: string[] = [];
    const pending: string[] = [];
    for (const { where, expr } of expressions) {
      for (const name of metricNamesIn(expr)) {
        if (name === 'up') continue; // Prometheus's own per-target series
        const base = name.replace(/_(bucket|count|sum)$/, '');
        const definition = definitions.get(name) ?? definitions.get(base);
        if (!definition) {
          // Not ours: a Node process metric every service must export.
          for (const [service, exported] of live) {
            if (!baseName(name, exported)) problems.push(`${where}: ${name} is exported by nothing (not ${service})`);
          }
          continue;
        }
        for (const service of definition.exportedBy) {
          const exported = live.get(service);
          const found = exported && baseName(name, exported);
          if (found) {
            if (exported.get(found) !== definition.type) {
              problems.push(
                `${where}: ${name} is a ${exported.get(found)} on ${service}, defined as ${definition.type}`,
              );
            }
          } else if (definition.pendingFeature || notWrittenYet(service)) {
            pending.push(`${definition.name} (${service}: ${definition.pendingFeature ?? 'service not written yet'})`);
          } else {
            problems.push(`${where}: ${name} should be exported by ${service} but is missing from its /metrics`);
          }
        }
      }
    }
    return { problems, pending: [...new Set(pending)] };
  }

  it('has a running exporter, or a declared pending feature, for every metric used', () => {
    const { problems, pending } = checkExpressions(promqlExpressions());
    expect(problems).toEqual([]);
    if (pending.length > 0) console.info(`metrics awaiting their feature:\n  ${pending.join('\n  ')}`);
  });

  it('would fail for a dashboard metric nothing exports', () => {
    const { problems } = checkExpressions([
      { where: 'test panel', expr: 'sum(rate(booking_refunds_total[5m])) + sum(nats_request_duration_seconds_count)' },
    ]);
    expect(problems).toEqual([
      'test panel: booking_refunds_total is exported by nothing (not api-gateway)',
      'test panel: booking_refunds_total is exported by nothing (not booking-service)',
      'test panel: booking_refunds_total is exported by nothing (not notification-service)',
    ]);
  });

  it('exports every defined metric that is not pending, with the defined type', () => {
    const problems: string[] = [];
    for (const definition of METRIC_DEFINITIONS) {
      for (const service of definition.exportedBy) {
        const exported = live.get(service);
        if (!exported) {
          if (!notWrittenYet(service)) problems.push(`${definition.name}: ${service} exists but is not scraped here`);
          continue;
        }
        const type = exported.get(definition.name);
        if (type === undefined && !definition.pendingFeature) problems.push(`${definition.name} missing on ${service}`);
        if (type !== undefined && type !== definition.type) {
          problems.push(`${definition.name} on ${service} is a ${type}, defined as ${definition.type}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('serves the gateway /metrics without a token even when every API route requires one', async () => {
    const strict = await stack.startExtraGateway({ AUTH_MODE: 'required' });
    expect((await fetch(`${strict}/api/bookings?user_id=u`)).status).toBe(401);
    const response = await fetch(`${strict}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('exports Node process metrics from every service', () => {
    for (const [service, exported] of live) {
      for (const name of [
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ]) {
        expect(exported.has(name), `${service} ${name}`).toBe(true);
      }
    }
  });
});
