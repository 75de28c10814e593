import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_OPTIONS } from '../../scripts/service-node-options.mjs';
import { appNames, COMPOSE_FILES, INFRASTRUCTURE, readCompose, ROOT, type Yaml } from './support/repository.js';

const DOCKERFILE = join(INFRASTRUCTURE, 'docker', 'Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
const dockerfile: Dockerfile = DockerfileParser.parse(text);

const SERVICE_TARGETS = ['api-gateway', 'booking-service', 'notification-service'];
const HEALTH_PORT_VARIABLE: Record<string, string> = {
  'api-gateway': 'PORT',
  'booking-service': 'BOOKING_SERVICE_PORT',
  'notification-service': 'NOTIFICATION_SERVICE_PORT',
};

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

const stages: Stage[] = dockerfile.getFROMs().map((from, index, froms) => {
  const start = from.getRange().start.line;
  const end = froms[index + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
  return {
    name: from.getBuildStage() ?? '',
    base: from.getImageName() ?? '',
    instructions: dockerfile
      .getInstructions()
      .filter((i) => i.getRange().start.line > start && i.getRange().start.line < end),
  };
});
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};

/** A stage's instructions with those of the stages it is built FROM first. */
function lineage(name: string): Instruction[] {
  const current = stage(name);
  const parent = stages.find((s) => s.name === current.base);
  return [...(parent ? lineage(parent.name) : []), ...current.instructions];
}

const last = (instructions: Instruction[], keyword: string) =>
  instructions.filter((i) => i.getKeyword() === keyword).at(-1);
const runs = (name: string) =>
  lineage(name)
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => i.getRawArgumentsContent() ?? '');

describe('Dockerfile', () => {
  it('passes dockerfile-utils validation with no finding', () => {
    expect(validate(text, {}).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the linter does report a broken Dockerfile', () => {
    const findings = validate('FROM node:20\nHEALTHCHECK --intervall=5s CMD true\nRUNN x\n', {});
    expect(findings.length).toBeGreaterThanOrEqual(2);
  });

  it('has a target for every app and for migrations', () => {
    const names = stages.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([...appNames(), ...SERVICE_TARGETS, 'migrate']));
  });

  it('pins base images to a tag, never latest', () => {
    const nodeImage = /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1];
    expect(nodeImage).toMatch(/^node:\d+(\.\d+)*-[a-z]+-slim$/);
    for (const { base } of stages) {
      if (stages.some((s) => s.name === base) || base === '${NODE_IMAGE}') continue;
      expect(base).toMatch(/:[\w.-]+$/);
      expect(base).not.toMatch(/:latest$/);
    }
  });

  it('installs with a frozen lockfile and ships only production dependencies', () => {
    expect(runs('build').join('\n')).toMatch(/pnpm install --offline --frozen-lockfile/);
    for (const target of [...SERVICE_TARGETS, 'migrate']) {
      const copy = stage(target)
        .instructions.find((i) => i.getKeyword() === 'COPY')!
        .getTextContent();
      const bundle = stages.find((s) => s.name === /--from=(\S+)/.exec(copy)?.[1]);
      expect(bundle, target).toBeDefined();
      const deploy = bundle!.instructions.map((i) => i.getTextContent()).join('\n');
      expect(deploy, target).toMatch(/pnpm --filter @booking\/[\w-]+ deploy --legacy --prod/);
    }
  });

  it.each([...SERVICE_TARGETS, 'migrate'])(
    '%s runs as an unprivileged user, in production mode, under tini',
    (target) => {
      const instructions = lineage(target);
      const user = last(instructions, 'USER')?.getRawArgumentsContent();
      expect(user).toBeDefined();
      expect(user).not.toMatch(/^(root|0)(:|$)/);
      const env = instructions.filter((i) => i.getKeyword() === 'ENV').map((i) => i.getRawArgumentsContent());
      expect(env).toContain('NODE_ENV=production');
      // The same heap cap as `pnpm start` and the load harness.
      expect(env).toContain(`NODE_OPTIONS=${SERVICE_NODE_OPTIONS}`);
      // Exec form: the process gets SIGTERM itself (no shell in between); tini is PID 1.
      const entrypoint = last(instructions, 'ENTRYPOINT')!.getRawArgumentsContent()!;
      expect(JSON.parse(entrypoint).slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
      const cmd = last(instructions, 'CMD')!.getRawArgumentsContent()!;
      expect(() => JSON.parse(cmd)).not.toThrow();
      expect(last(instructions, 'STOPSIGNAL')?.getRawArgumentsContent()).toBe('SIGTERM');
    },
  );

  it.each(SERVICE_TARGETS)('%s has a HEALTHCHECK on its own readiness route', (target) => {
    const healthcheck = last(stage(target).instructions, 'HEALTHCHECK')!.getRawArgumentsContent()!;
    expect(healthcheck).toContain(`process.env.${HEALTH_PORT_VARIABLE[target]}`);
    expect(healthcheck).toContain('/health/ready');
    const env = stage(target)
      .instructions.filter((i) => i.getKeyword() === 'ENV')
      .map((i) => i.getRawArgumentsContent());
    expect(env.some((e) => e?.startsWith(`${HEALTH_PORT_VARIABLE[target]}=`))).toBe(true);
    expect(last(stage(target).instructions, 'CMD')!.getRawArgumentsContent()).toContain('dist/bundle/main.js');
  });

  it('the one-shot migrate target runs the migrate command and has no health check', () => {
    expect(last(stage('migrate').instructions, 'HEALTHCHECK')!.getRawArgumentsContent()).toBe('NONE');
    expect(last(stage('migrate').instructions, 'ENTRYPOINT')!.getRawArgumentsContent()).toContain('dist/cli.js');
    expect(JSON.parse(last(stage('migrate').instructions, 'CMD')!.getRawArgumentsContent()!)).toEqual(['migrate']);
  });

  it('cleans up after apt-get and installs no recommended extras', () => {
    for (const run of runs('runtime').filter((r) => r.includes('apt-get install'))) {
      expect(run).toContain('--no-install-recommends');
      expect(run).toContain('rm -rf /var/lib/apt/lists/*');
    }
  });

  it('builds every target the development compose file asks for', () => {
    const compose = readCompose(COMPOSE_FILES.development);
    const targets = Object.values<Yaml>(compose.services).flatMap((s) => (s.build ? [s.build.target] : []));
    expect(targets.length).toBe(4);
    for (const target of targets) expect(stages.map((s) => s.name)).toContain(target);
  });

  it('has a .dockerignore that keeps dependencies, builds and secrets out of the context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env']) expect(ignored).toContain(entry);
  });
});
