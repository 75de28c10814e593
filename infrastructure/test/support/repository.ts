import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const INFRASTRUCTURE = join(ROOT, 'infrastructure');

/** Compose files, relative to infrastructure/. */
export const COMPOSE_FILES = {
  production: 'docker-compose.yml',
  development: 'docker-compose.dev.yml',
  low: 'docker-compose.low.yml',
  high: 'docker-compose.high.yml',
  build: 'docker-compose.build.yml',
  /** `docker compose up` in the repository root. */
  quickStart: '../compose.yaml',
} as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Yaml = any;

export function readYaml(path: string): Yaml {
  // `merge` resolves the `<<: *anchor` keys the compose files use, as Compose does.
  return parse(readFileSync(path, 'utf8'), { merge: true });
}

export function readCompose(file: string): Yaml {
  return readYaml(join(INFRASTRUCTURE, file));
}

/** nats-server's users and permissions, shipped for Compose and the NATS chart. */
export const NATS_AUTHORIZATION = join(INFRASTRUCTURE, 'nats', 'authorization.conf');

/** The users of the NATS authorization file, each with the environment variable its password is read from. */
export function natsUsers(): Map<string, string> {
  const text = readFileSync(NATS_AUTHORIZATION, 'utf8');
  return new Map([...text.matchAll(/\buser:\s*([\w-]+)\s+password:\s*\$([A-Z_]+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** The apps of the workspace (apps/<name> with a src/config.ts). */
export function appNames(): string[] {
  return readdirSync(join(ROOT, 'apps')).filter((name) => existsSync(join(ROOT, 'apps', name, 'src', 'config.ts')));
}

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}` references in a text (`$${...}` is an escaped dollar). */
export function interpolatedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}/g)) names.add(match[1]!);
  return names;
}

/** Keys set in a dotenv file (commented lines do not count). */
export function dotenvKeys(path: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) keys.set(match[1]!, match[2]!);
  }
  return keys;
}
