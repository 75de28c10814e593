import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand, testTempDir } from '@booking/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './support/repository.js';

const DEPLOY_SCRIPT = join(ROOT, 'scripts', 'deploy.sh');

/**
 * A stand-in for the docker CLI on PATH. It records every call with the
 * IMAGE_TAG it saw; `compose ps` reports every service healthy (and the one-shot
 * migrate exited 0) unless the tag is in UNHEALTHY_TAGS (the gateway stays
 * unhealthy) or CRASHED_TAGS (the booking service exited); `compose run`
 * (migrations) fails for BROKEN_MIGRATION_TAGS.
 */
const FAKE_DOCKER = `#!/usr/bin/env bash
printf '%s|%s\\n' "\${IMAGE_TAG:-}" "$*" >> "$DOCKER_CALLS"
in_list() { for tag in $1; do [ "$tag" = "\${IMAGE_TAG:-}" ] && return 0; done; return 1; }
case " $* " in
  *" run "*) in_list "\${BROKEN_MIGRATION_TAGS:-}" && exit 1 ;;
  *" ps "*)
    echo "postgres running healthy 0"
    echo "migrate exited  0"
    echo "promtail running  0"
    if in_list "\${CRASHED_TAGS:-}"; then echo "booking-service exited  1"; else echo "booking-service running healthy 0"; fi
    if in_list "\${UNHEALTHY_TAGS:-}"; then echo "api-gateway running unhealthy 0"; else echo "api-gateway running healthy 0"; fi
    ;;
esac
exit 0
`;

const BASE = 'compose --env-file .env -f infrastructure/docker-compose.yml';
const UP = (tag: string, files = BASE) => `${tag}|${files} up -d --remove-orphans`;

describe('scripts/deploy.sh', () => {
  let dir: string;

  beforeEach(() => {
    dir = testTempDir('deploy');
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
        DEPLOY_POLL_INTERVAL: '0.1',
        DEPLOY_HEALTH_TIMEOUT: '1',
        ...env,
      },
    });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  /** The docker calls since the last look, as "tag|arguments" (health polls left out). */
  function takeCalls(): string[] {
    const path = join(dir, 'calls.log');
    if (!existsSync(path)) return [];
    const calls = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .filter((call) => call && !call.includes(' ps --all '));
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
    expect(takeCalls()).toEqual([`aaa111|${BASE} pull --quiet`, `aaa111|${BASE} run --rm migrate`, UP('aaa111')]);
    expect(state('current-tag')).toBe('aaa111');
    expect(state('previous-tag')).toBeUndefined();
  });

  it('polls health until every service is healthy', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    const polls = readFileSync(join(dir, 'calls.log'), 'utf8');
    expect(polls).toContain(`aaa111|${BASE} ps --all --format {{.Service}} {{.State}} {{.Health}} {{.ExitCode}}`);
  });

  it('rolls back to the previous tag when the new release does not become healthy in time', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    takeCalls();
    const result = deploy(['bad222'], { UNHEALTHY_TAGS: 'bad222' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('not healthy after 1s');
    expect(result.output).toContain('api-gateway running unhealthy');
    expect(result.output).toContain('rolled back to aaa111; bad222 was not deployed');
    expect(takeCalls().filter((call) => call.includes(' up '))).toEqual([UP('bad222'), UP('aaa111')]);
    expect(state('current-tag')).toBe('aaa111');
  });

  it('rolls back at once, without waiting out the timeout, when a service exits', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    takeCalls();
    const started = Date.now();
    const result = deploy(['bad222'], { CRASHED_TAGS: 'bad222', DEPLOY_HEALTH_TIMEOUT: '60' });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.status).toBe(1);
    expect(result.output).toContain('booking-service exited');
    expect(takeCalls().filter((call) => call.includes(' up '))).toEqual([UP('bad222'), UP('aaa111')]);
  });

  it('says so when the rollback fails too', () => {
    expect(deploy(['aaa111']).status).toBe(0);
    const result = deploy(['bad222'], { UNHEALTHY_TAGS: 'bad222 aaa111' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('rollback to aaa111 did not become healthy either');
  });

  it('cannot roll back a first deployment that fails', () => {
    const result = deploy(['bad222'], { UNHEALTHY_TAGS: 'bad222' });
    expect(result.status).toBe(1);
    expect(result.output).toContain('no earlier release to roll back to');
    expect(state('current-tag')).toBeUndefined();
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
    expect(takeCalls()).toEqual([UP('aaa111')]);
    expect(state('current-tag')).toBe('aaa111');
    expect(
      readFileSync(join(dir, '.deploy', 'history'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
  });

  it('adds the resource profile file and refuses an unknown profile', () => {
    expect(deploy(['aaa111'], { DEPLOY_PROFILE: 'high' }).status).toBe(0);
    expect(takeCalls().at(-1)).toBe(UP('aaa111', `${BASE} -f infrastructure/docker-compose.high.yml`));
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
    const shellcheck = findCommand('shellcheck');
    if (!shellcheck.path) {
      console.warn(`Skipping shellcheck: ${shellcheck.reason}`);
      return;
    }
    const result = spawnSync(shellcheck.path, ['--severity=style', DEPLOY_SCRIPT], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
