import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { testTempDir } from '@booking/testing';
import { DCLinter } from 'dclint';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import {
  COMPOSE_FILES,
  dotenvKeys,
  INFRASTRUCTURE,
  natsUsers,
  readCompose,
  ROOT,
  type Yaml,
} from './support/repository.js';

/** dclint: YAML validity, the Compose Specification's JSON schema, then its best-practice rules. */
async function lint(paths: string[]) {
  const linter = new DCLinter({
    rules: {
      // Ordering rules are style only; the files are ordered by start-up instead.
      'service-keys-order': 0,
      'service-dependencies-alphabetical-order': 0,
      'services-alphabetical-order': 0,
      'top-level-properties-order': 0,
    },
    quiet: true,
    debug: false,
    exclude: [],
  });
  return linter.lintFiles(paths, false);
}

const FULL_STACKS = { production: COMPOSE_FILES.production, development: COMPOSE_FILES.development };
/** The services built from this repository's Dockerfile. */
const APP_SERVICES = ['migrate', 'booking-service', 'notification-service', 'api-gateway'];
const DOCKERFILE = 'infrastructure/docker/Dockerfile';
const dockerfileTargets = [...readFileSync(join(ROOT, DOCKERFILE), 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm)].map(
  (match) => match[1],
);
const REQUIRED_SERVICES = [
  'postgres',
  'nats',
  'redis',
  'migrate',
  'booking-service',
  'notification-service',
  'api-gateway',
  'nginx',
  'prometheus',
  'grafana',
  'loki',
  'promtail',
];

/** Services that run once and exit: others wait for them with service_completed_successfully. */
function oneShotServices(compose: Yaml): Set<string> {
  return new Set(Object.keys(compose.services).filter((name) => compose.services[name].restart === 'no'));
}

function dependencies(service: Yaml): Record<string, { condition: string; restart?: boolean }> {
  return service.depends_on ?? {};
}

/** Every service `name` waits for, directly or through others. */
function transitiveDependencies(compose: Yaml, name: string, seen = new Set<string>()): Set<string> {
  for (const dependency of Object.keys(dependencies(compose.services[name]))) {
    if (seen.has(dependency)) continue;
    seen.add(dependency);
    transitiveDependencies(compose, dependency, seen);
  }
  return seen;
}

describe('Compose files', () => {
  it('are valid against the Compose Specification schema and pass dclint', async () => {
    const results = await lint(Object.values(COMPOSE_FILES).map((file) => join(INFRASTRUCTURE, file)));
    expect(results).toHaveLength(Object.keys(COMPOSE_FILES).length);
    for (const result of results) {
      const errors = result.messages.filter((message) => message.type === 'error');
      expect(
        errors.map((e) => `${e.rule}: ${e.message}`),
        result.filePath,
      ).toEqual([]);
    }
  });

  it('the validator does reject a file that breaks the schema', async () => {
    const dir = testTempDir('compose');
    try {
      const path = join(dir, 'docker-compose.yml');
      writeFileSync(path, 'services:\n  api:\n    image: api:1\n    healthcheck:\n      intervall: 5s\n');
      const [result] = await lint([path]);
      expect(result!.messages.map((m) => m.rule)).toContain('invalid-schema');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.each(Object.entries(FULL_STACKS))('%s stack', (stack, file) => {
    const compose = readCompose(file);
    const services: Record<string, Yaml> = compose.services;
    const oneShots = oneShotServices(compose);

    it('has every service of the system', () => {
      // Production also renews its TLS certificate and backs up its database; development serves plain
      // HTTP on localhost and keeps throwaway data.
      const expected = stack === 'production' ? [...REQUIRED_SERVICES, 'certbot', 'backup'] : REQUIRED_SERVICES;
      expect(Object.keys(services).sort()).toEqual([...expected].sort());
    });

    it('gives every long-running service a health check, and one-shots none', () => {
      for (const [name, service] of Object.entries(services)) {
        if (oneShots.has(name)) {
          expect(service.healthcheck, name).toEqual({ disable: true });
          continue;
        }
        const test = service.healthcheck?.test;
        expect(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0]) && test.length > 1, name).toBe(true);
        expect(service.healthcheck.interval, name).toMatch(/^\d+s$/);
        expect(service.healthcheck.retries, name).toBeGreaterThan(0);
      }
    });

    it('gives every service CPU and memory limits', () => {
      for (const [name, service] of Object.entries(services)) {
        const limits = service.deploy?.resources?.limits;
        expect(Number(limits?.cpus), name).toBeGreaterThan(0);
        expect(limits?.memory, name).toMatch(/^\d+[mg]$/);
      }
    });

    it('starts in order: data stores healthy → migrations done → services healthy → gateway → nginx', () => {
      for (const [name, service] of Object.entries(services)) {
        for (const [dependency, { condition }] of Object.entries(dependencies(service))) {
          expect(services[dependency], `${name} depends on unknown ${dependency}`).toBeDefined();
          const expected = oneShots.has(dependency) ? 'service_completed_successfully' : 'service_healthy';
          expect(condition, `${name} → ${dependency}`).toBe(expected);
        }
      }
      for (const service of ['booking-service', 'notification-service']) {
        expect([...transitiveDependencies(compose, service)]).toEqual(
          expect.arrayContaining(['migrate', 'postgres', 'nats']),
        );
      }
      expect([...transitiveDependencies(compose, 'api-gateway')]).toEqual(
        expect.arrayContaining(['booking-service', 'redis', 'nats', 'migrate']),
      );
      expect([...transitiveDependencies(compose, 'nginx')]).toContain('api-gateway');
      expect(dependencies(services.migrate).postgres?.condition).toBe('service_healthy');
    });

    it('runs NATS with the shipped users and permissions, and each service as its own user', () => {
      const nats = services.nats;
      expect(nats.command.slice(0, 2)).toEqual(['--config', '/etc/nats/authorization.conf']);
      expect(nats.volumes).toContain('./nats/authorization.conf:/etc/nats/authorization.conf:ro');
      const users = natsUsers();
      expect(Object.keys(nats.environment).sort()).toEqual([...users.values()].sort());
      for (const name of ['booking-service', 'notification-service', 'api-gateway']) {
        const env = services[name].environment;
        expect(env.NATS_USER, name).toBe(name);
        // The password nats-server checks is the one the service sends.
        expect(env.NATS_PASSWORD, name).toBe(nats.environment[users.get(name)!]);
      }
      // The migration talks to PostgreSQL only.
      expect(services.migrate.environment.NATS_PASSWORD).toBeUndefined();
    });

    it('runs several booking-service replicas', () => {
      expect(services['booking-service'].deploy.replicas).toBeGreaterThanOrEqual(2);
    });

    it('keeps data in declared named volumes', () => {
      const declared = new Set(Object.keys(compose.volumes ?? {}));
      for (const [name, service] of Object.entries(services)) {
        for (const volume of service.volumes ?? []) {
          const source = String(volume).split(':')[0]!;
          if (source.startsWith('.') || source.startsWith('/') || source.startsWith('$')) continue;
          expect(declared.has(source), `${name} uses undeclared volume ${source}`).toBe(true);
        }
      }
      for (const store of ['postgres', 'nats', 'prometheus', 'loki', 'grafana']) {
        const named = (services[store].volumes ?? []).filter((v: string) => /^[a-z]/.test(v));
        expect(named.length, `${store} keeps its data in a named volume`).toBeGreaterThan(0);
      }
    });

    it('mounts only files that exist in the repository', () => {
      for (const [name, service] of Object.entries(services)) {
        for (const volume of service.volumes ?? []) {
          const source = String(volume).split(':')[0]!;
          if (!source.startsWith('.')) continue;
          expect(existsSync(resolve(INFRASTRUCTURE, source)), `${name}: ${source}`).toBe(true);
        }
      }
    });

    it('publishes nothing but the edge to other hosts', () => {
      for (const [name, service] of Object.entries(services)) {
        for (const port of service.ports ?? []) {
          if (name === 'nginx') continue;
          expect(String(port), `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/);
        }
      }
    });
  });

  describe('production', () => {
    const compose = readCompose(COMPOSE_FILES.production);

    it('takes every secret from the env file, never a committed value', () => {
      const secretKey = /PASSWORD|SECRET|TOKEN/;
      for (const [name, service] of Object.entries<Yaml>(compose.services)) {
        for (const [key, value] of Object.entries(service.environment ?? {})) {
          if (!secretKey.test(key)) continue;
          expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        }
        if (service.env_file) expect(service.env_file, name).toBe('../.env');
      }
      expect(compose.services.postgres.environment.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    });

    it('runs images tagged with the deployed commit, built by CI', () => {
      for (const name of ['migrate', 'booking-service', 'notification-service', 'api-gateway']) {
        const service = compose.services[name];
        expect(service.build, name).toBeUndefined();
        expect(service.image, name).toMatch(
          new RegExp(`^\\$\\{IMAGE_REGISTRY:\\?[^}]+\\}/${name}:\\$\\{IMAGE_TAG:\\?[^}]+\\}$`),
        );
      }
    });

    it('serves TLS at the edge with the certificate certbot keeps, reloading to pick up renewals', () => {
      const nginx = compose.services.nginx;
      expect(nginx.ports).toEqual(['0.0.0.0:80:80', '0.0.0.0:443:443']);
      expect(nginx.volumes).toContain(
        './nginx/templates/https.conf.template:/etc/nginx/templates/default.conf.template:ro',
      );
      expect(nginx.volumes).toContain('letsencrypt:/etc/letsencrypt:ro');
      expect(nginx.environment.NGINX_TLS_CERTIFICATE).toBe('/etc/letsencrypt/live/${NGINX_SERVER_NAME}/fullchain.pem');
      expect(nginx.environment.NGINX_TLS_CERTIFICATE_KEY).toBe(
        '/etc/letsencrypt/live/${NGINX_SERVER_NAME}/privkey.pem',
      );
      // The image's entrypoint still renders the templates, and a loop reloads nginx on a schedule.
      const command = nginx.command.join(' ');
      expect(command).toMatch(/while :; do sleep \d+h & wait \$\$\{!\}; nginx -s reload; done &/);
      expect(command).toContain('exec /docker-entrypoint.sh nginx -g "daemon off;"');
    });

    it('renews the certificate with certbot through the webroot nginx serves on port 80', () => {
      const certbot = compose.services.certbot;
      expect(certbot.image).toMatch(/^certbot\/certbot:v\d+\.\d+\.\d+$/);
      expect(certbot.entrypoint.join(' ')).toMatch(
        /while :; do certbot renew --webroot -w \/var\/www\/acme --quiet; sleep 12h & wait \$\$\{!\}; done/,
      );
      expect(certbot.volumes).toEqual(['letsencrypt:/etc/letsencrypt', 'acme-challenges:/var/www/acme']);
      expect(compose.services.nginx.volumes).toContain('acme-challenges:/var/www/acme:ro');
      const httpsTemplate = readFileSync(join(INFRASTRUCTURE, 'nginx/templates/https.conf.template'), 'utf8');
      expect(httpsTemplate).toMatch(/location \^~ \/\.well-known\/acme-challenge\/ \{\s*root \/var\/www\/acme;/);
      expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['letsencrypt', 'acme-challenges']));
      // Healthy only while the certificate has weeks left: a renewal failing for days shows.
      expect(certbot.healthcheck.test.join(' ')).toContain('timedelta(days=21)');
    });
  });

  describe('production backups (pgBackRest)', () => {
    const compose = readCompose(COMPOSE_FILES.production);
    const { postgres, backup } = compose.services;
    const dockerfile = readFileSync(join(INFRASTRUCTURE, postgres.build.context, 'Dockerfile'), 'utf8');
    const mountOf = (service: Yaml, source: string) =>
      (service.volumes as string[]).map((volume) => volume.split(':')).find(([from]) => from === source);

    it('runs the database and the backup service on one image with pgBackRest, built on the host from a pinned base', () => {
      for (const service of [postgres, backup]) {
        expect(service.image).toBe(postgres.image);
        expect(service.build).toEqual({ context: './docker/postgres' });
        // Never pulled: `docker compose pull` in scripts/deploy.sh skips it, `up` builds it from the cache.
        expect(service.pull_policy).toBe('build');
      }
      expect(validate(dockerfile, {})).toEqual([]);
      expect(/^FROM (\S+)$/m.exec(dockerfile)?.[1]).toMatch(/^postgres:\d+-bookworm$/);
      const install = DockerfileParser.parse(dockerfile)
        .getInstructions()
        .filter((instruction) => instruction.getKeyword() === 'RUN')
        .map((instruction) => instruction.getRawArgumentsContent() ?? '')
        .join('\n');
      expect(install).toContain('apt-get install -y --no-install-recommends pgbackrest');
      expect(install).toContain('rm -rf /var/lib/apt/lists/*');
    });

    it.each(['default', 'low', 'high'] as const)(
      '"%s": PostgreSQL archives every WAL segment to the repository with pgBackRest',
      (profile) => {
        const override = profile === 'default' ? {} : readCompose(COMPOSE_FILES[profile]).services.postgres;
        const command: string[] = override.command ?? postgres.command;
        const settings = command.filter((_, i) => command[i - 1] === '-c');
        expect(command[0]).toBe('postgres');
        expect(settings).toEqual(
          expect.arrayContaining([
            'archive_mode=on',
            'archive_command=pgbackrest archive-push %p',
            expect.stringMatching(/^archive_timeout=\d+$/),
          ]),
        );
      },
    );

    it('gives the database and the backup service the same pgBackRest settings, repository and socket', () => {
      const settings = (service: Yaml) =>
        Object.fromEntries(
          Object.entries<string>(service.environment).filter(([key]) => key.startsWith('PGBACKREST_')),
        );
      expect(settings(backup)).toEqual(settings(postgres));
      expect(settings(postgres)).toMatchObject({ PGBACKREST_STANZA: 'booking', PGBACKREST_LOG_LEVEL_FILE: 'off' });
      const { PGBACKREST_REPO1_PATH: repository, PGBACKREST_PG1_PATH: dataDir } = postgres.environment;
      for (const service of [postgres, backup]) {
        expect(mountOf(service, 'pgbackrest')?.[1]).toBe(repository);
        expect(mountOf(service, 'postgres-socket')?.[1]).toBe('/var/run/postgresql');
        expect(mountOf(service, 'postgres-data')?.[1]).toBe(dataDir);
      }
      expect(Object.keys(compose.volumes)).toEqual(
        expect.arrayContaining(['pgbackrest', 'postgres-socket', 'postgres-restore']),
      );
    });

    it('runs scripts/backup.sh on a schedule as the database user once PostgreSQL is healthy, and its health check', () => {
      const [source, target, mode] = mountOf(backup, '../scripts')!;
      expect(mode).toBe('ro');
      for (const script of ['backup.sh', 'restore.sh'])
        expect(existsSync(resolve(INFRASTRUCTURE, source!, script))).toBe(true);
      expect(backup.command).toEqual(['bash', `${target}/backup.sh`, 'schedule']);
      expect(backup.healthcheck.test).toEqual(['CMD', 'bash', `${target}/backup.sh`, 'health']);
      expect(backup.user).toBe('postgres');
      expect(backup.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
      expect(backup.environment.BACKUP_TIME).toMatch(/^\$\{BACKUP_TIME:-\d\d:\d\d\}$/);
      expect(mountOf(backup, 'postgres-restore')?.[1]).toBe('/var/lib/postgresql/restore');
      expect(dockerfile).toMatch(/install -d -o postgres -g postgres .*\/var\/lib\/postgresql\/restore/);
    });
  });

  describe('quick start (`docker compose up` in the repository root)', () => {
    const root = readCompose(COMPOSE_FILES.quickStart);
    const development = readCompose(COMPOSE_FILES.development);

    it('is the development stack', () => {
      expect(root.include).toEqual(['infrastructure/docker-compose.dev.yml']);
      expect(root.services).toBeUndefined();
    });

    it('builds every app image from this checkout, tagged locally, never pulled', () => {
      for (const name of APP_SERVICES) {
        const service = development.services[name];
        expect(service.build, name).toEqual({ context: '..', dockerfile: DOCKERFILE, target: name });
        expect(dockerfileTargets, name).toContain(name);
        expect(service.image, name).toBe(`event-booking/${name}:local`);
        expect(service.pull_policy, name).toBe('build');
      }
    });

    it('migrates and seeds a demo event before the services start, and serves the web app through nginx', () => {
      expect(development.services.migrate.entrypoint.join(' ')).toContain('migrate && node dist/cli.js seed');
      expect(development.services.nginx.ports).toEqual(['127.0.0.1:8080:80']);
    });
  });

  describe('building the production images without CI', () => {
    const production = readCompose(COMPOSE_FILES.production);
    const build = readCompose(COMPOSE_FILES.build);

    it('builds exactly the app services, from the Dockerfile target of each, under the names production runs', () => {
      expect(Object.keys(build.services).sort()).toEqual([...APP_SERVICES].sort());
      for (const name of APP_SERVICES) {
        expect(build.services[name].build, name).toEqual({ context: '..', dockerfile: DOCKERFILE, target: name });
        expect(dockerfileTargets, name).toContain(name);
        // Compose tags the build with the service's image: the registry path docker-compose.yml pulls.
        expect(build.services[name].image, name).toBeUndefined();
        expect(production.services[name].image, name).toContain(`/${name}:`);
      }
    });
  });

  describe.each(['low', 'high'] as const)('"%s" resource profile', (profile) => {
    const base = readCompose(COMPOSE_FILES.production);
    const override = readCompose(COMPOSE_FILES[profile]);

    it('sets limits for exactly the services of the production stack', () => {
      expect(Object.keys(override.services).sort()).toEqual(Object.keys(base.services).sort());
      for (const [name, service] of Object.entries<Yaml>(override.services)) {
        const limits = service.deploy?.resources?.limits;
        expect(Number(limits?.cpus), name).toBeGreaterThan(0);
        expect(limits?.memory, name).toMatch(/^\d+[mg]$/);
      }
    });

    it('keeps several booking-service replicas', () => {
      expect(override.services['booking-service'].deploy.replicas).toBeGreaterThanOrEqual(2);
    });
  });

  it.each(['default', 'low', 'high'] as const)(
    '"%s": the services\' connection pools fit in PostgreSQL\'s max_connections with room to spare',
    (profile) => {
      const base = readCompose(COMPOSE_FILES.production).services;
      const override = profile === 'default' ? {} : readCompose(COMPOSE_FILES[profile]).services;
      const envPool = Number(dotenvKeys(join(ROOT, '.env.example')).get('DATABASE_POOL_SIZE'));
      const setting = (name: string, read: (service: Yaml) => unknown) =>
        read(override[name] ?? {}) ?? read(base[name]);
      const replicas = (name: string) => Number(setting(name, (s) => s.deploy?.replicas) ?? 1);
      const pool = (name: string) => Number(setting(name, (s) => s.environment?.DATABASE_POOL_SIZE) ?? envPool);
      const command: string[] = setting('postgres', (s) => s.command) ?? [];
      const maxConnections = Number(/max_connections=(\d+)/.exec(command.join(' '))?.[1] ?? 100);
      // The booking service also holds a LISTEN connection; the reserve is docs/deploy.md's (superuser slots, tools).
      const used =
        replicas('booking-service') * (pool('booking-service') + 1) +
        replicas('notification-service') * pool('notification-service');
      expect(envPool).toBeGreaterThan(0);
      expect(used + 10).toBeLessThanOrEqual(maxConnections);
    },
  );

  it('the profiles differ: "high" gives more than "low" to every service', () => {
    const memory = (value: string) => Number.parseInt(value, 10) * (value.endsWith('g') ? 1024 : 1);
    const low = readCompose(COMPOSE_FILES.low).services;
    const high = readCompose(COMPOSE_FILES.high).services;
    for (const name of Object.keys(low)) {
      const [l, h] = [low[name].deploy.resources.limits, high[name].deploy.resources.limits];
      expect(Number(h.cpus), name).toBeGreaterThanOrEqual(Number(l.cpus));
      expect(memory(h.memory), name).toBeGreaterThan(memory(l.memory));
    }
  });
});
