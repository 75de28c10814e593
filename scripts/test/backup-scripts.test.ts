import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCommand, testTempDir, waitUntil } from '@booking/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const BACKUP = fileURLToPath(new URL('../backup.sh', import.meta.url));
const RESTORE = fileURLToPath(new URL('../restore.sh', import.meta.url));

/**
 * scripts/backup.sh and scripts/restore.sh with a stand-in `pgbackrest` that records its arguments and
 * answers `info` with $STUB_INFO: what the scripts ask of pgBackRest, and what they refuse before asking.
 * The restore drill (restore-drill.test.ts) runs them against the real pgBackRest and PostgreSQL.
 */
describe('backup and restore scripts', () => {
  const dir = testTempDir('backup-scripts');
  const bin = join(dir, 'bin');
  const calls = join(dir, 'calls');
  const state = join(dir, 'state');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'pgbackrest'),
    '#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$STUB_CALLS"\n' +
      'case "$*" in *info*) printf \'%s\\n\' "${STUB_INFO:-[]}" ;; esac\nexit "${STUB_EXIT:-0}"\n',
  );
  chmodSync(join(bin, 'pgbackrest'), 0o755);

  function run(script: string, args: string[], env: Record<string, string> = {}) {
    const result = spawnSync('bash', [script, ...args], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        STUB_CALLS: calls,
        BACKUP_STATE_DIR: state,
        PGBACKREST_REPO1_PATH: join(dir, 'repository'),
        ...env,
      },
      timeout: 20_000,
    });
    return { status: result.status, output: result.stdout + result.stderr };
  }
  const takeCalls = (): string[] => {
    if (!existsSync(calls)) return [];
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    rmSync(calls);
    return lines;
  };
  const infoWithBackupAt = (epochSeconds: number) =>
    JSON.stringify([{ backup: [{ timestamp: { start: epochSeconds - 5, stop: epochSeconds }, type: 'full' }] }]);

  beforeEach(() => {
    rmSync(calls, { force: true });
    rmSync(state, { recursive: true, force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('print their usage: on --help, and with an unknown command (exit 2)', () => {
    expect(run(BACKUP, ['--help'])).toMatchObject({
      status: 0,
      output: expect.stringContaining('scripts/backup.sh full|diff|incr'),
    });
    const unknown = run(BACKUP, ['everything']);
    expect(unknown.status).toBe(2);
    expect(unknown.output).toContain('scripts/backup.sh schedule');
    expect(run(RESTORE, ['--help']).output).toContain('--keep-archiving');
    expect(takeCalls()).toEqual([]);
  });

  it('backup.sh takes the backup type asked for, and `auto` a full one (then verify) on the full-backup weekday only', () => {
    expect(run(BACKUP, ['diff']).status).toBe(0);
    expect(takeCalls()).toEqual(['--type=diff backup']);
    const today = String(((new Date().getUTCDay() + 6) % 7) + 1);
    const otherDay = today === '1' ? '2' : '1';
    expect(run(BACKUP, ['auto'], { BACKUP_FULL_WEEKDAY: today }).status).toBe(0);
    expect(takeCalls()).toEqual(['--type=full backup', 'verify']);
    expect(run(BACKUP, ['auto'], { BACKUP_FULL_WEEKDAY: otherDay }).status).toBe(0);
    expect(takeCalls()).toEqual(['--type=diff backup']);
    // A failed backup is not verified, and fails the command.
    expect(run(BACKUP, ['auto'], { BACKUP_FULL_WEEKDAY: today, STUB_EXIT: '1' }).status).not.toBe(0);
    expect(takeCalls()).toEqual(['--type=full backup']);
  });

  it('health: healthy before the first backup and while the newest is recent; not once it is old or the last one failed', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(run(BACKUP, ['health'])).toMatchObject({ status: 0, output: expect.stringContaining('no backup yet') });
    expect(run(BACKUP, ['health'], { STUB_INFO: infoWithBackupAt(now - 3_600) }).status).toBe(0);
    const old = run(BACKUP, ['health'], { STUB_INFO: infoWithBackupAt(now - 30 * 3_600) });
    expect(old).toMatchObject({ status: 1, output: expect.stringContaining('finished 30 h ago') });
    expect(
      run(BACKUP, ['health'], { STUB_INFO: infoWithBackupAt(now - 30 * 3_600), BACKUP_MAX_AGE_HOURS: '48' }).status,
    ).toBe(0);
    mkdirSync(state);
    writeFileSync(join(state, 'failed'), 'the last backup failed\n');
    expect(run(BACKUP, ['health'], { STUB_INFO: infoWithBackupAt(now) })).toMatchObject({
      status: 1,
      output: 'the last backup failed\n',
    });
  });

  it('schedule: creates the stanza, takes a first full backup when there is none, and stops cleanly on SIGTERM', async () => {
    const child = spawn('bash', [BACKUP, 'schedule'], {
      env: { PATH: `${bin}:${process.env.PATH}`, STUB_CALLS: calls, BACKUP_STATE_DIR: state },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitUntil(
      async () => existsSync(calls) && readFileSync(calls, 'utf8').includes('backup'),
      10_000,
      'a first backup',
    );
    // It now sleeps until BACKUP_TIME; a stop must not wait for that.
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(takeCalls()).toEqual(['stanza-create', 'check', '--output=json info', '--type=full backup']);
    expect(existsSync(join(state, 'failed'))).toBe(false);
  });

  it('restore.sh restores into a new directory up to the target, with archiving off and the repository written into restore_command', () => {
    const target = join(dir, 'restored');
    const result = run(RESTORE, ['--to', target, '--time', '2026-01-31T12:00:00.5Z']);
    expect(result.status).toBe(0);
    expect(takeCalls()).toEqual([
      `--stanza=booking --repo1-path=${join(dir, 'repository')} --pg1-path=${target} --archive-mode=off --type=time ` +
        '--target=2026-01-31 12:00:00.500000+00 --target-action=promote restore',
    ]);
    expect(existsSync(target)).toBe(true);
    rmSync(target, { recursive: true });

    expect(
      run(RESTORE, ['--to', target, '--name', 'before-migration', '--set', '20260131-020000F', '--keep-archiving'])
        .status,
    ).toBe(0);
    expect(takeCalls()[0]).toMatch(
      /--archive-mode=preserve --type=name --target=before-migration --target-action=promote --set=20260131-020000F restore$/,
    );
    rmSync(target, { recursive: true });
    expect(
      run(RESTORE, ['--to', target, '--latest', '--target-action', 'pause'], { PGBACKREST_CONFIG: '/etc/x.conf' })
        .status,
    ).toBe(0);
    expect(takeCalls()[0]).toMatch(/--archive-mode=off --type=default --config=\/etc\/x\.conf restore$/);
  });

  it('restore.sh refuses a directory that holds anything, and unclear targets, before pgBackRest runs', () => {
    const occupied = join(dir, 'occupied');
    mkdirSync(occupied, { recursive: true });
    writeFileSync(join(occupied, 'PG_VERSION'), '16\n');
    const refused = run(RESTORE, ['--to', occupied, '--latest']);
    expect(refused).toMatchObject({
      status: 1,
      output: expect.stringContaining(`refusing to restore into ${occupied}`),
    });
    expect(readdirSync(occupied)).toEqual(['PG_VERSION']);
    const fresh = join(dir, 'fresh');
    for (const [args, message] of [
      [['--latest'], '--to DIR is required'],
      [['--to', fresh], 'a target is required'],
      [['--to', fresh, '--latest', '--name', 'x'], 'give one target'],
      [['--to', fresh, '--time', 'half past never'], "--time: not a time: 'half past never'"],
      [['--to', fresh, '--lsn', 'xyz'], '--lsn: not a WAL position'],
      [['--to', fresh, '--latest', '--target-action', 'explode'], '--target-action must be'],
      [['--to'], '--to needs a value'],
      [['--to', fresh, '--bogus'], 'unknown argument: --bogus'],
    ] as const) {
      const result = run(RESTORE, [...args]);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.output, args.join(' ')).toContain(message);
    }
    expect(existsSync(fresh)).toBe(false);
    expect(takeCalls()).toEqual([]);
  });

  it('pass shellcheck', () => {
    const shellcheck = findCommand('shellcheck');
    if (!shellcheck.path) {
      console.warn(`Skipping shellcheck: ${shellcheck.reason}`);
      return;
    }
    const result = spawnSync(shellcheck.path, ['--severity=style', BACKUP, RESTORE], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
