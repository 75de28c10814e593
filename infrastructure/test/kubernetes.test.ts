import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { databaseEnvSchema } from '@booking/shared';
import { parse } from 'yaml';
import type { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  composeMebibytes,
  containerEnv,
  cores,
  find,
  KUBERNETES,
  mebibytes,
  OVERLAYS,
  render,
  validate,
  type Overlay,
} from './support/kubernetes.js';
import {
  INFRASTRUCTURE,
  NATS_AUTHORIZATION,
  natsUsers,
  readCompose,
  readYaml,
  ROOT,
  type Yaml,
} from './support/repository.js';

const APPS = ['api-gateway', 'booking-service', 'notification-service'] as const;
/** Each overlay has the sizes of one Compose resource profile. */
const PROFILES: Record<Overlay, string> = { small: 'docker-compose.low.yml', ha: 'docker-compose.high.yml' };
/** Values for the Secrets the manifests reference (created by the operator, never in the repository). */
const SECRETS = {
  'booking-db-app/uri': 'postgresql://booking:db-password@booking-db-rw.event-booking:5432/booking',
  'booking-db-app/username': 'booking',
  'booking-db-app/password': 'db-password',
  'booking-redis/password': 'redis-password',
  'booking-gateway/jwt-secret': 'a-real-jwt-secret-of-at-least-32-characters',
  'booking-gateway/booking-access-secret': 'a-real-access-key-secret-of-32-characters-or-more',
  'booking-gateway/waiting-room-secret': 'a-real-waiting-room-secret-of-32-characters-or-more',
  'booking-nats/api-gateway-password': 'nats-gateway-password',
  'booking-nats/booking-service-password': 'nats-booking-password',
  'booking-nats/notification-service-password': 'nats-notification-password',
};

/** The env schema each app's src/config.ts exports (the one export named `…EnvSchema`). */
async function envSchema(app: string): Promise<z.ZodType> {
  const config: Record<string, unknown> = await import(pathToFileURL(join(ROOT, 'apps', app, 'src', 'config.ts')).href);
  const schemas = Object.entries(config).filter(([name]) => name.endsWith('EnvSchema'));
  expect(schemas, `${app} exports one …EnvSchema`).toHaveLength(1);
  return schemas[0]![1] as z.ZodType;
}

/** Variables whose default points at this machine: a pod must be told where its dependency is. */
function localDefaults(schema: z.ZodType): string[] {
  const defaults = schema.safeParse({});
  const config = (defaults.success ? defaults.data : {}) as Record<string, unknown>;
  return Object.entries(config)
    .filter(([, value]) => /localhost|127\.0\.0\.1/.test(JSON.stringify(value)))
    .map(([key]) => key);
}

const containerOf = (workload: Yaml): Yaml => workload.spec.template.spec.containers[0];

describe.each(OVERLAYS)('Kubernetes overlay %s', (overlay) => {
  let objects: Yaml[];
  beforeAll(() => {
    objects = render(overlay);
  });

  it('renders objects that each validate against their API schema', async () => {
    expect(objects.length).toBeGreaterThan(15);
    const failures: string[] = [];
    for (const object of objects) {
      await validate(object).catch((error: Error) =>
        failures.push(`${object.kind} ${object.metadata?.name}: ${error.message}`),
      );
    }
    expect(failures).toEqual([]);
  });

  it('references every Secret and inlines none', () => {
    expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
    for (const workload of objects.filter((object) => object.kind === 'Deployment' || object.kind === 'Job')) {
      for (const variable of containerOf(workload).env ?? []) {
        if (/SECRET|PASSWORD|DATABASE_URL/.test(variable.name)) expect(variable.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
  });

  it.each(APPS)('sets every variable %s needs in a cluster, and its configuration loads', async (app) => {
    const schema = await envSchema(app);
    const container = containerOf(find(objects, 'Deployment', app));
    const env = containerEnv(objects, container, SECRETS);
    expect(env.NODE_ENV).toBe('production');
    // Defaults pointing at localhost (NATS_URL, DATABASE_URL, REDIS_URL) would start and connect nowhere.
    const local = localDefaults(schema);
    expect(local.length).toBeGreaterThan(0);
    for (const key of local) expect(env[key], `${app} ${key}`).toBeDefined();
    const parsed = schema.safeParse(env);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(env.REDIS_URL ?? '').not.toContain('$(');
  });

  it.each(APPS)('connects %s to NATS as its own user, with the password the NATS chart checks', (app) => {
    const env: Yaml[] = containerOf(find(objects, 'Deployment', app)).env;
    expect(env.find((variable) => variable.name === 'NATS_USER')?.value).toBe(app);
    const password = env.find((variable) => variable.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef;
    expect(password).toBeDefined();
    // nats-values.yaml gives nats-server that user's password variable from the same Secret key.
    const natsValues = parse(readFileSync(join(KUBERNETES, 'nats-values.yaml'), 'utf8'));
    const variable = natsUsers().get(app)!;
    expect(natsValues.container.env[variable]).toEqual({ valueFrom: { secretKeyRef: password } });
  });

  it('runs the migration Job with a valid database configuration', () => {
    const job = find(objects, 'Job', 'migrate');
    const env = containerEnv(objects, containerOf(job), SECRETS);
    expect(databaseEnvSchema.safeParse(env).success).toBe(true);
    expect(containerOf(job).args).toEqual(['migrate']);
  });

  it.each(APPS)('%s: probes on its health endpoints and port, non-root with a read-only file system', (app) => {
    const deployment = find(objects, 'Deployment', app);
    const pod = deployment.spec.template.spec;
    const container = containerOf(deployment);
    const env = containerEnv(objects, container, SECRETS);
    const port = Number(env.PORT ?? env.BOOKING_SERVICE_PORT ?? env.NOTIFICATION_SERVICE_PORT);
    expect(container.ports).toEqual([{ name: 'http', containerPort: port }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.topologySpreadConstraints.length).toBeGreaterThan(0);
    // The process must exit on its own (SHUTDOWN_TIMEOUT_MS) before the kubelet kills it.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000));
    expect(find(objects, 'PodDisruptionBudget', app).spec.selector.matchLabels).toEqual(
      deployment.spec.selector.matchLabels,
    );
  });

  it('has the replicas and limits of its Compose resource profile', () => {
    const profile = readCompose(PROFILES[overlay]).services;
    const workloads: [string, Yaml][] = [
      ...APPS.map((app): [string, Yaml] => [app, find(objects, 'Deployment', app)]),
      ['migrate', find(objects, 'Job', 'migrate')],
    ];
    for (const [service, workload] of workloads) {
      const { limits } = containerOf(workload).resources;
      const compose = profile[service].deploy;
      expect(cores(limits.cpu), `${service} cpu`).toBe(Number(compose.resources.limits.cpus));
      expect(mebibytes(limits.memory), `${service} memory`).toBe(composeMebibytes(compose.resources.limits.memory));
      if (workload.kind === 'Deployment') expect(workload.spec.replicas, `${service} replicas`).toBe(compose.replicas);
    }
    const pool = containerEnv(objects, containerOf(find(objects, 'Deployment', 'booking-service')), SECRETS);
    expect(pool.DATABASE_POOL_SIZE).toBe(profile['booking-service'].environment.DATABASE_POOL_SIZE);
  });

  it('autoscales the gateway and the booking service from their replica count, within the database connections', () => {
    for (const app of ['api-gateway', 'booking-service']) {
      const hpa = find(objects, 'HorizontalPodAutoscaler', app);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
      expect(hpa.spec.minReplicas).toBe(find(objects, 'Deployment', app).spec.replicas);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    }
    const booking = find(objects, 'Deployment', 'booking-service');
    const pool = Number(containerEnv(objects, containerOf(booking), SECRETS).DATABASE_POOL_SIZE);
    const maxConnections = Number(find(objects, 'Cluster', 'booking-db').spec.postgresql.parameters.max_connections);
    expect(find(objects, 'HorizontalPodAutoscaler', 'booking-service').spec.maxReplicas * pool).toBeLessThan(
      maxConnections,
    );
  });

  it('lets only the gateway take traffic from outside, and the services reach only NATS, PostgreSQL and Redis', () => {
    const policies = objects.filter((object) => object.kind === 'NetworkPolicy');
    const fromIngress = policies.filter((policy) =>
      JSON.stringify(policy.spec.ingress ?? []).includes('"kubernetes.io/metadata.name":"ingress-nginx"'),
    );
    expect(fromIngress.map((policy) => policy.spec.podSelector)).toEqual([
      { matchLabels: { 'app.kubernetes.io/name': 'api-gateway' } },
    ]);
    const allowedPorts = new Set([4222, 5432, 6379, 53]);
    for (const policy of policies) {
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const ports = (policy.spec.egress ?? []).flatMap((rule: Yaml) => rule.ports.map((p: Yaml) => p.port));
      expect(
        ports.filter((port: number) => !allowedPorts.has(port)),
        policy.metadata.name,
      ).toEqual([]);
    }
    const covered = (app: string) =>
      policies.some((policy) => {
        const selector = policy.spec.podSelector;
        return (
          selector.matchLabels?.['app.kubernetes.io/name'] === app ||
          selector.matchExpressions?.some((expression: Yaml) => expression.values.includes(app))
        );
      });
    for (const app of [...APPS, 'migrate']) expect(covered(app), app).toBe(true);
  });

  it('routes the Ingress to the gateway with the limits of infrastructure/nginx, and never /metrics', () => {
    const ingress = find(objects, 'Ingress', 'event-booking');
    const nginx = readCompose('docker-compose.yml').services.nginx.environment;
    const annotation = (name: string) => ingress.metadata.annotations[`nginx.ingress.kubernetes.io/${name}`];
    const rate = Number(/^(\d+)r\/s$/.exec(nginx.NGINX_RATE_LIMIT.replace(/^\$\{[^:]+:-(.*)\}$/, '$1'))![1]);
    const burst = Number(nginx.NGINX_RATE_BURST.replace(/^\$\{[^:]+:-(.*)\}$/, '$1'));
    expect(Number(annotation('limit-rps'))).toBe(rate);
    expect(Number(annotation('limit-rps')) * Number(annotation('limit-burst-multiplier'))).toBe(burst);
    expect(annotation('limit-connections')).toBe(
      nginx.NGINX_CONNECTIONS_PER_CLIENT.replace(/^\$\{[^:]+:-(.*)\}$/, '$1'),
    );
    expect(annotation('proxy-body-size')).toBe(nginx.NGINX_CLIENT_MAX_BODY_SIZE.replace(/^\$\{[^:]+:-(.*)\}$/, '$1'));
    const proxy = readFileSync(join(INFRASTRUCTURE, 'nginx', 'snippets', 'proxy-gateway.conf'), 'utf8');
    for (const [directive, name] of [
      ['proxy_connect_timeout', 'proxy-connect-timeout'],
      ['proxy_send_timeout', 'proxy-send-timeout'],
      ['proxy_read_timeout', 'proxy-read-timeout'],
    ]) {
      expect(`${annotation(name)}s`).toBe(new RegExp(`${directive} (\\w+);`).exec(proxy)![1]);
    }
    expect(annotation('proxy-next-upstream')).toBe(/proxy_next_upstream ([\w ]+);/.exec(proxy)![1]);
    const paths = ingress.spec.rules[0].http.paths;
    expect(paths.find((path: Yaml) => path.path === '/').backend.service.name).toBe('api-gateway');
    const metrics = paths.find((path: Yaml) => path.path === '/metrics').backend.service.name;
    expect(find(objects, 'Service', metrics).spec.selector).toBeUndefined();
  });

  it('carries the alert rules of alerts.yml and the Grafana dashboards', () => {
    const alerts = readYaml(join(INFRASTRUCTURE, 'monitoring', 'prometheus', 'alerts.yml'));
    expect(find(objects, 'PrometheusRule', 'event-booking').spec).toEqual(alerts);
    const dashboards = join(INFRASTRUCTURE, 'monitoring', 'grafana', 'dashboards');
    const configMap = find(objects, 'ConfigMap', 'grafana-dashboards');
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    const files = readdirSync(dashboards).filter((file) => file.endsWith('.json'));
    expect(Object.keys(configMap.data).sort()).toEqual(files.sort());
    for (const file of files) expect(configMap.data[file]).toBe(readFileSync(join(dashboards, file), 'utf8'));
    const monitor = find(objects, 'ServiceMonitor', 'event-booking');
    expect(monitor.spec.selector.matchExpressions[0].values.sort()).toEqual([...APPS].sort());
  });

  it('runs PostgreSQL, NATS and Redis through their operators and charts', () => {
    const database = find(objects, 'Cluster', 'booking-db');
    const streamReplicas = Number(
      find(
        objects,
        'ConfigMap',
        containerOf(find(objects, 'Deployment', 'booking-service')).envFrom[0].configMapRef.name,
      ).data.BOOKING_EVENTS_REPLICAS,
    );
    const natsValues = parse(readFileSync(join(KUBERNETES, 'nats-values.yaml'), 'utf8'));
    expect(natsValues.config.jetstream.enabled).toBe(true);
    // The users and permissions Compose runs with: the chart's ConfigMap carries the file, its config includes it.
    expect(natsValues.configMap.merge.data['authorization.conf']).toBe(readFileSync(NATS_AUTHORIZATION, 'utf8'));
    expect(natsValues.config.merge['00$include']).toBe('authorization.conf');
    expect(Object.keys(natsValues.container.env).sort()).toEqual([...natsUsers().values()].sort());
    expect(streamReplicas).toBeLessThanOrEqual(natsValues.config.cluster.replicas);
    if (overlay === 'ha') {
      // An acknowledged booking is on two PostgreSQL instances and every event on three NATS nodes.
      expect(database.spec).toMatchObject({ instances: 3, minSyncReplicas: 1 });
      expect(streamReplicas).toBe(3);
      expect(find(objects, 'RedisReplication', 'redis').spec.clusterSize).toBeGreaterThanOrEqual(2);
      expect(find(objects, 'RedisSentinel', 'redis-sentinel').spec.redisSentinelConfig.redisReplicationName).toBe(
        'redis',
      );
    } else {
      expect(streamReplicas).toBe(1);
    }
    const images = objects.flatMap((object) => JSON.stringify(object).match(/"image":"[^"]+"/g) ?? []);
    expect(images.filter((image) => image.includes('bitnami'))).toEqual([]);
  });

  it('backs PostgreSQL up the operator’s way: WAL to an object store, a daily base backup, keys from a Secret', () => {
    const database = find(objects, 'Cluster', 'booking-db');
    const { retentionPolicy, barmanObjectStore: store } = database.spec.backup;
    expect(retentionPolicy).toMatch(/^\d+[dwm]$/);
    expect(store.destinationPath).toMatch(/^s3:\/\/[a-z0-9.-]+\//);
    expect(store.s3Credentials).toEqual({
      accessKeyId: { name: 'booking-db-backup', key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: 'booking-db-backup', key: 'ACCESS_SECRET_KEY' },
    });
    expect(store.wal.compression).toBeTruthy();
    const scheduled = find(objects, 'ScheduledBackup', 'booking-db-daily');
    expect(scheduled.metadata.namespace).toBe(database.metadata.namespace);
    expect(scheduled.spec).toMatchObject({
      cluster: { name: 'booking-db' },
      method: 'barmanObjectStore',
      immediate: true,
    });
    // The operator's cron format has seconds first: six fields.
    expect(scheduled.spec.schedule.split(' ')).toHaveLength(6);
  });
});

describe('Kubernetes schema validation', () => {
  it('rejects an object its schema does not allow, and a kind it has no schema for', async () => {
    const objects = render('small');
    const deployment = structuredClone(find(objects, 'Deployment', 'api-gateway'));
    deployment.spec.replicas = 'two';
    await expect(validate(deployment)).rejects.toThrow(/replicas/);
    const cluster = structuredClone(find(objects, 'Cluster', 'booking-db'));
    cluster.spec.instances = -1;
    await expect(validate(cluster)).rejects.toThrow(/instances/);
    const scheduled = structuredClone(find(objects, 'ScheduledBackup', 'booking-db-daily'));
    scheduled.spec.method = 'tape';
    await expect(validate(scheduled)).rejects.toThrow(/method/);
    delete scheduled.spec.cluster;
    await expect(validate(scheduled)).rejects.toThrow(/cluster/);
    await expect(validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).rejects.toThrow(
      /no schema/,
    );
  });
});
