import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../bench.mjs', import.meta.url));
const bench = (...args: string[]) =>
  spawnSync(process.execPath, [BENCH, ...args], { cwd: join(BENCH, '..', '..'), encoding: 'utf8', timeout: 20_000 });

/** Options are checked before anything starts: a mistyped run exits at once, saying what is wrong. */
describe('pnpm bench options', () => {
  it('prints its usage for --help and exits 0', () => {
    const run = bench('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: pnpm bench [options]');
    expect(run.stdout).toContain('--gateway-replicas N');
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--seconds', 'ten'], "--seconds must be a whole number of at least 1, not 'ten'"],
    [['--repeat', '0'], "--repeat must be a whole number of at least 1, not '0'"],
    [['--warm-up=-1'], "--warm-up must be a whole number of at least 0, not '-1'"],
    [['--gateway-replicas', '1.5'], "--gateway-replicas must be a whole number of at least 1, not '1.5'"],
    [['--scenarios', 'flash,flsh'], 'unknown scenario: flsh (known: baseline, flash, read, pgbench, bare)'],
    [['--url', 'http://127.0.0.1:3000'], '--url needs --database-url, the database the checks read'],
  ])('refuses %j with exit code 2 and the usage', (args, message) => {
    const run = bench(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage: pnpm bench [options]');
    expect(run.stdout).toBe('');
  });
});
