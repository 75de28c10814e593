import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { databaseEnvSchema } from '@booking/shared';
import { describe, expect, it } from 'vitest';
import {
  appNames,
  COMPOSE_FILES,
  dotenvKeys,
  INFRASTRUCTURE,
  interpolatedVariables,
  natsUsers,
  readCompose,
  ROOT,
  type Yaml,
} from './support/repository.js';

const example = dotenvKeys(join(ROOT, '.env.example'));

interface EnvSchema {
  shape: Record<string, unknown>;
}

/**
 * The variables each app reads, taken from the zod env schemas its src/config.ts
 * exports (every export named `…EnvSchema`), so a variable added to any schema is
 * checked here without editing this test.
 */
async function appSchemas(): Promise<Map<string, string[]>> {
  const schemas = new Map<string, string[]>();
  for (const app of appNames()) {
    const config: Record<string, unknown> = await import(
      pathToFileURL(join(ROOT, 'apps', app, 'src', 'config.ts')).href
    );
    const keys = Object.entries(config)
      .filter(([name, value]) => name.endsWith('EnvSchema') && typeof (value as EnvSchema)?.shape === 'object')
      .flatMap(([, value]) => Object.keys((value as EnvSchema).shape));
    schemas.set(app, [...new Set(keys)]);
  }
  return schemas;
}

describe('.env.example', () => {
  it('finds the env schema of every app', async () => {
    const schemas = await appSchemas();
    expect([...schemas.keys()]).toEqual(expect.arrayContaining(['api-gateway', 'booking-service']));
    for (const [app, keys] of schemas) expect(keys.length, `${app} exports no …EnvSchema`).toBeGreaterThan(0);
    expect(schemas.get('api-gateway')).toContain('PORT');
    expect(schemas.get('booking-service')).toContain('BOOKING_SERVICE_PORT');
  });

  it('lists every variable the services read', async () => {
    const missing: string[] = [];
    for (const [app, keys] of await appSchemas()) {
      for (const key of keys) if (!example.has(key)) missing.push(`${key} (${app})`);
    }
    // The migrate command reads the database settings.
    for (const key of Object.keys(databaseEnvSchema.shape)) if (!example.has(key)) missing.push(`${key} (migrate)`);
    expect(missing).toEqual([]);
  });

  it('lists every variable the compose files and the deploy script use', () => {
    const used = new Set<string>();
    for (const file of Object.values(COMPOSE_FILES)) {
      for (const name of interpolatedVariables(readFileSync(join(INFRASTRUCTURE, file), 'utf8'))) used.add(name);
    }
    const deployScript = readFileSync(join(ROOT, 'scripts', 'deploy.sh'), 'utf8');
    for (const match of deployScript.matchAll(/\$\{(DEPLOY_[A-Z_]+)/g)) used.add(match[1]!);
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !example.has(name))).toEqual([]);
  });

  it('lists nothing that nobody reads', async () => {
    const read = new Set<string>(Object.keys(databaseEnvSchema.shape));
    for (const keys of (await appSchemas()).values()) keys.forEach((key) => read.add(key));
    for (const file of Object.values(COMPOSE_FILES)) {
      const text = readFileSync(join(INFRASTRUCTURE, file), 'utf8');
      interpolatedVariables(text).forEach((name) => read.add(name));
      // Variables compose sets for the app containers (e.g. REDIS_URL) are read by those apps.
      const compose = readCompose(file);
      for (const service of Object.values<Yaml>(compose.services ?? {})) {
        Object.keys(service.environment ?? {}).forEach((key) => read.add(key));
      }
    }
    for (const match of readFileSync(join(ROOT, 'scripts', 'deploy.sh'), 'utf8').matchAll(/\b(DEPLOY_[A-Z_]+)\b/g)) {
      read.add(match[1]!);
    }
    expect([...example.keys()].filter((key) => !read.has(key))).toEqual([]);
  });

  it('holds no real secrets: every secret is a change-me placeholder, or unset', () => {
    const secrets = [...example].filter(([key]) => /PASSWORD|SECRET|TOKEN/.test(key));
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const [key, value] of secrets) expect(value, key).toMatch(/^(change-me.*)?$/);
    // A service's own NATS password is empty: a local run's nats-server asks for none.
    expect(example.get('NATS_PASSWORD')).toBe('');
  });

  it('lists a password for each NATS user, one nats-server can read as a configuration value', () => {
    const users = natsUsers();
    expect([...users.keys()].sort()).toEqual(['api-gateway', 'booking-service', 'notification-service']);
    for (const variable of users.values()) expect(example.get(variable), variable).toMatch(/^[A-Za-z][A-Za-z0-9-]*$/);
  });
});
