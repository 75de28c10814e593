import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const SCRIPT = fileURLToPath(new URL('../audit-dependencies.mjs', import.meta.url));
const ROOT = join(SCRIPT, '..', '..');

type Severity = 'low' | 'moderate' | 'high' | 'critical';

function advisory(id: number, severity: Severity, ghsa: string) {
  return {
    id,
    title: `Advisory ${id}`,
    module_name: 'pg',
    vulnerable_versions: '<99.0.0',
    patched_versions: '>=99.0.0',
    severity,
    github_advisory_id: ghsa,
    cves: [],
    url: `https://github.com/advisories/${ghsa}`,
    findings: [{ version: '8.0.0', paths: ['apps__booking-service>pg'] }],
  };
}

/** An npm audit report, as the registry's /-/npm/v1/security/audits/quick answers. */
function report(...advisories: ReturnType<typeof advisory>[]) {
  const vulnerabilities = { info: 0, low: 0, moderate: 0, high: 0, critical: 0 };
  for (const { severity } of advisories) vulnerabilities[severity] += 1;
  return {
    actions: [],
    muted: [],
    advisories: Object.fromEntries(advisories.map((a) => [a.id, a])),
    metadata: { vulnerabilities, dependencies: 1, devDependencies: 0, optionalDependencies: 0, totalDependencies: 1 },
  };
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A stand-in registry; each test sets how it answers. */
let answer: Handler;
let server: Server;
let registry: string;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface AuditOptions {
  registryUrl?: string;
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * Runs the script in the repository (or `cwd`) against the stand-in registry (or `registryUrl`) until it exits.
 * Its deadline is raised above the default so that a loaded machine cannot turn an answer into a skip.
 */
function audit({ registryUrl = registry, cwd = ROOT, env = {} }: AuditOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, '--registry', registryUrl], {
      cwd,
      env: { ...process.env, AUDIT_TIMEOUT_SECONDS: '30', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only stops a broken script from hanging the test.
      timeout: 50_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const answerJson =
  (body: unknown): Handler =>
  (request, response) => {
    request.resume();
    request.once('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(body));
    });
  };

describe('scripts/audit-dependencies.mjs (pnpm audit in .ci/run)', () => {
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      answer(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails on a high or critical advisory and names it; lower ones are left to the report', async () => {
    answer = answerJson(
      report(
        advisory(1, 'critical', 'GHSA-crit-crit-crit'),
        advisory(2, 'high', 'GHSA-high-high-high'),
        advisory(3, 'moderate', 'GHSA-mode-mode-mode'),
      ),
    );
    requests.length = 0;
    const { code, stderr } = await audit();
    expect(requests).toEqual(['POST /-/npm/v1/security/audits/quick']);
    expect(code).toBe(1);
    expect(stderr).toContain('2 high or critical advisories');
    expect(stderr).toContain('GHSA-crit-crit-crit');
    expect(stderr).toContain('GHSA-high-high-high');
    expect(stderr).not.toContain('GHSA-mode-mode-mode');
  });

  it('passes when the only advisories are below high', async () => {
    answer = answerJson(
      report(advisory(3, 'moderate', 'GHSA-mode-mode-mode'), advisory(4, 'low', 'GHSA-lowl-lowl-lowl')),
    );
    const { code, stdout } = await audit();
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('pnpm audit: no high or critical advisory in the production dependencies');
  });

  it('passes when the high advisory is accepted in pnpm-workspace.yaml (auditConfig.ignoreGhsas)', async () => {
    answer = answerJson(report(advisory(2, 'high', 'GHSA-high-high-high')));
    const dir = testTempDir('audit');
    try {
      for (const file of ['package.json', 'pnpm-lock.yaml']) copyFileSync(join(ROOT, file), join(dir, file));
      const workspace = parseDocument(readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8'));
      workspace.setIn(['auditConfig', 'ignoreGhsas'], []);
      writeFileSync(join(dir, 'pnpm-workspace.yaml'), workspace.toString());
      expect((await audit({ cwd: dir })).code).toBe(1);
      workspace.setIn(['auditConfig', 'ignoreGhsas'], ['GHSA-high-high-high']);
      writeFileSync(join(dir, 'pnpm-workspace.yaml'), workspace.toString());
      const { code, stdout } = await audit({ cwd: dir });
      expect(code).toBe(0);
      expect(stdout).toContain('no high or critical advisory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips with one line when the registry has no audit endpoint', async () => {
    answer = (request, response) => {
      request.resume();
      response.statusCode = 405;
      response.end();
    };
    const { code, stdout, stderr } = await audit();
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(
      `pnpm audit skipped, no audit from the registry: ${registry}-/npm/v1/security/audits/quick answered 405`,
    );
    expect(stderr).toBe('');
  });

  it('skips with one line when nothing listens at the registry address', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, stdout } = await audit({ registryUrl: `http://127.0.0.1:${port}/` });
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(
      /^pnpm audit skipped, no audit from the registry: request to .* failed, reason: .*ECONNREFUSED/,
    );
  });

  it('skips, within its deadline, when the registry never answers', async () => {
    answer = () => {};
    const { code, stdout } = await audit({ env: { AUDIT_TIMEOUT_SECONDS: '3' } });
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(/^pnpm audit skipped, no audit from the registry: /);
  });

  it('fails on an error that is not about reaching the registry', async () => {
    const dir = testTempDir('audit');
    try {
      // No lockfile: nothing to audit is a broken checkout, not an offline machine.
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      const { code, stderr } = await audit({ cwd: dir });
      expect(code).toBe(1);
      expect(stderr).toMatch(/pnpm audit failed: ERR_PNPM_AUDIT_NO_LOCKFILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
