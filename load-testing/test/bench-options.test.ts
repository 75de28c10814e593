import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBenchOptions, SCENARIOS, UsageError } from '../lib/options.mjs';

const BENCH = fileURLToPath(new URL('../bench.mjs', import.meta.url));
const bench = (...args: string[]) =>
  spawnSync(process.execPath, [BENCH, ...args], { cwd: join(BENCH, '..', '..'), encoding: 'utf8', timeout: 20_000 });
const ALL = SCENARIOS.map(({ id }: { id: string }) => id);

/** Options are checked before anything starts: a mistyped run exits at once, saying what is wrong. */
describe('pnpm bench options', () => {
  it('prints its usage for --help and exits 0: every scenario, the options, what the exit code means', () => {
    const run = bench('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: pnpm bench [options]');
    for (const id of ALL) expect(run.stdout).toMatch(new RegExp(`^  ${id} `, 'm'));
    expect(run.stdout).toContain('--gateway-replicas N');
    expect(run.stdout).toContain('--without SERVICE');
    expect(run.stdout).toContain('--notification-events N');
    expect(run.stdout).toContain('A missed target never changes it');
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--scenarios', 'flash'], 'unknown scenario: flash'],
  ])('refuses %j with exit code 2, what is wrong and the usage, before starting anything', (args, message) => {
    const run = bench(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage: pnpm bench [options]');
    expect(run.stdout).toBe('');
  });

  it.each([
    [['--seconds', 'ten'], "--seconds must be a whole number of at least 1, not 'ten'"],
    [['--repeat', '0'], "--repeat must be a whole number of at least 1, not '0'"],
    [['--warm-up=-1'], "--warm-up must be a whole number of at least 0, not '-1'"],
    [['--gateway-replicas', '1.5'], "--gateway-replicas must be a whole number of at least 1, not '1.5'"],
    [['--notification-events', '0'], "--notification-events must be a whole number of at least 1, not '0'"],
    [['--scenarios', 'sell-out,flash'], `unknown scenario: flash (known: ${ALL.join(', ')})`],
    [
      ['--without', 'api-gateway'],
      '--without api-gateway: only notification-service can be left out (the load goes through api-gateway and booking-service)',
    ],
    [['--url', 'http://127.0.0.1:3000'], '--url needs --database-url, the database the checks read'],
    [
      ['--url', 'http://127.0.0.1:3000', '--database-url', 'postgresql://x/y', '--without', 'notification-service'],
      '--without leaves out a service the bench starts; with --url it starts none',
    ],
    [
      ['--without', 'notification-service', '--scenarios', 'notification-drain'],
      'notification-drain cannot run: the notification service is left out',
    ],
  ])('refuses %j saying what is wrong', (args, message) => {
    expect(() => parseBenchOptions(args)).toThrow(new UsageError(message));
  });

  it('runs every scenario with one of each service by default', () => {
    expect(parseBenchOptions([])).toMatchObject({
      scenarios: ALL,
      seconds: 10,
      warmUpSeconds: 5,
      repeat: 1,
      bookingReplicas: 1,
      gatewayReplicas: 1,
      notificationEvents: 20_000,
      without: [],
      skipped: [],
    });
  });

  it('selects scenarios by id (the bench runs them in its own fixed order)', () => {
    expect(parseBenchOptions(['--scenarios', 'pgbench,sustained-sale']).scenarios).toEqual([
      'pgbench',
      'sustained-sale',
    ]);
  });

  it('leaves the notification service out on request, and says what that skips', () => {
    const options = parseBenchOptions(['--without', 'notification-service']);
    expect(options.without).toEqual(['notification-service']);
    expect(options.scenarios).not.toContain('notification-drain');
    expect(options.skipped).toEqual([
      'notification drain (the notification service is left out)',
      'sustained sale without notification service (the notification service is left out)',
    ]);
  });

  it('against a running system (--url) skips what needs a service the bench starts', () => {
    const options = parseBenchOptions(['--url', 'http://127.0.0.1:3000', '--database-url', 'postgresql://x/y']);
    expect(options.urls).toEqual(['http://127.0.0.1:3000']);
    expect(options.scenarios).not.toContain('notification-drain');
    expect(options.skipped).toEqual([
      'notification drain (with --url the bench starts no service)',
      'sustained sale without notification service (with --url the bench starts no service)',
    ]);
  });

  it('returns only { help } for --help, whatever else is given', () => {
    expect(parseBenchOptions(['--seconds', 'ten', '-h'])).toEqual({ help: true });
  });
});
