import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from '@booking/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './support/repository.js';

const DEPLOY_SCRIPT = join(ROOT, 'scripts', 'deploy.sh');

/**
 * A stand-in for the docker CLI on PATH: it records every call with the
 * IMAGE_TAG it saw, and fails `up` for UNHEALTHY_TAGS and `run` (migrations)
 * for BROKEN_MIGRATION_TAGS, as an unhealthy release or a failed migration would.
 */
const FAKE_DOCKER = `#!/usr/bin/env bash
printf '%s|%s\\n' "\${IMAGE_TAG:-}" "$*" >> "$DOCKER_CALLS"
case " $* " in
  *" up "*) for tag in \${UNHEALTHY_TAGS:-}; do [ "$tag" = "\${IMAGE_TAG:-}" ] && exit 1; done ;;
  *" run "*) for tag in \${BROKEN_MIGRATION_TAGS:-}; do [ "$tag" = "\${IMAGE_TAG:-}" ] && exit 1; done ;;
esac
exit 0
`;

describe('scripts/deploy.sh', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-'));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'bin'));
    cpSync(DEPLOY_SCRIPT, join(dir, 'scripts', 'deploy.sh'));
    cpSync(join(ROOT, 'infrastructure'), join(dir, 'infrastructure'), { recursive: true });
    writeFileSync(join(dir, '.env'), 'IMAGE_REGISTRY=registry.invalid/booking\nDEPLOY_PROFILE=\n');
    writeFileSync(join(dir, 'bin', 'docker'), FAKE_DOCKER);
    chmodSync(join(dir, 'bin', 'docker'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function deploy(args: string[], env: Record<string, string> = {}) {
    const result = spawnSync('bash', [join(dir, 'scripts', 'deploy.sh'), ...args], {
      encoding: 'utf8',
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        DOCKER_CALLS: join(dir, 'calls.log'),
        ...env,
      },
    });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  /** The docker calls since the last look, as "tag|arguments". */
  function takeCalls(): string[] {
    const path = join(dir, 'calls.log');
    if (!existsSync(path)) return [];
    const calls = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean);
    rmSync(path);
    return calls;
  }
  const state = (name: string) => {
    const path = join(dir, '.deploy', name);
    return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
  };

  it('pulls, migrates, then starts and waits for health, and records the tag', () => {
    const result = deploy(['aaa111']);
    expect(result.status, result.output).toBe(0);
    const base = 'compose --env-file .env -f infrastructure/docker-compose.yml';
    expect(takeCalls()).toEqual([
      `aaa111|${base} pull --quiet`,
      `aaa111|${base} run --rm migrate`,
      `aaa111|${base} up -d --remove-orphans --wait --wait-timeout 180`,
    ]);
    expect(state('current-tag')).toBe('aaa111');
    expect(state('previous-tag')).toBeUndefined();
  });

  it('rolls back to the previous tag when the new release does not become healthy', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    takeCalls();
    const result = deploy(['bad222'], { UNHEALTHY_TAGS: 'bad222' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('rolled back to aaa111; bad222 was not deployed');
    const calls = takeCalls();
    expect(calls.filter((call) => call.includes(' up '))).toEqual([
      'bad222|compose --env-file .env -f infrastructure/docker-compose.yml up -d --remove-orphans --wait --wait-timeout 180',
      'aaa111|compose --env-file .env -f infrastructure/docker-compose.yml up -d --remove-orphans --wait --wait-timeout 180',
    ]);
    expect(state('current-tag')).toBe('aaa111');
  });

  it('says so when the rollback fails too', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    const result = deploy(['bad222'], { UNHEALTHY_TAGS: 'bad222 aaa111' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('rollback to aaa111 did not become healthy either');
  });

  it('leaves the running release alone when migrations fail', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    takeCalls();
    const result = deploy(['bbb222'], { BROKEN_MIGRATION_TAGS: 'bbb222' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('migrations failed');
    expect(takeCalls().some((call) => call.includes(' up '))).toBe(false);
    expect(state('current-tag')).toBe('aaa111');
  });

  it('--rollback returns to the release before the current one', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    expect(deploy(['bbb222']).status).toBe(0);
    expect(state('previous-tag')).toBe('aaa111');
    takeCalls();
    const result = deploy(['--rollback']);
    expect(result.status, result.output).toBe(0);
    expect(takeCalls()).toEqual([
      'aaa111|compose --env-file .env -f infrastructure/docker-compose.yml up -d --remove-orphans --wait --wait-timeout 180',
    ]);
    expect(state('current-tag')).toBe('aaa111');
    expect(
      readFileSync(join(dir, '.deploy', 'history'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
  });

  it('adds the resource profile file and refuses an unknown profile', () => {
    expect(deploy(['aaa111'], { DEPLOY_PROFILE: 'high', DEPLOY_HEALTH_TIMEOUT: '30' }).status).toBe(0);
    expect(takeCalls().at(-1)).toBe(
      'aaa111|compose --env-file .env -f infrastructure/docker-compose.yml -f infrastructure/docker-compose.high.yml up -d --remove-orphans --wait --wait-timeout 30',
    );
    const unknown = deploy(['aaa111'], { DEPLOY_PROFILE: 'huge' });
    expect(unknown.status).toBe(1);
    expect(unknown.output).toContain('DEPLOY_PROFILE must be low or high');
  });

  it('refuses a malformed tag, a missing .env, and --rollback with no history, before touching docker', () => {
    expect(deploy(['x; rm -rf /']).status).toBe(1);
    expect(deploy(['--rollback']).output).toContain('no previous release recorded');
    rmSync(join(dir, '.env'));
    expect(deploy(['aaa111']).output).toContain('.env is missing');
    expect(takeCalls()).toEqual([]);
  });

  it('passes shellcheck', () => {
    const shellcheck = ensureCommand('shellcheck');
    if (!shellcheck.path) {
      console.warn(`Skipping shellcheck: ${shellcheck.reason}`);
      return;
    }
    const result = spawnSync(shellcheck.path, ['--severity=style', DEPLOY_SCRIPT], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
