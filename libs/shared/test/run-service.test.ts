import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commonEnvSchema, loadConfig, runService } from '../src/index.js';

const SHARED = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('runService', () => {
  it('prints a configuration error as one line and sets a failing exit code', async () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (message: unknown) => errors.push(message);
    let started = false;
    try {
      await runService(
        () => loadConfig(commonEnvSchema, { NODE_ENV: 'staging' }),
        async () => (started = true),
      );
      expect(errors).toEqual([expect.stringMatching(/^Invalid configuration: NODE_ENV: /)]);
      expect(process.exitCode).toBe(1);
      expect(started).toBe(false);
    } finally {
      console.error = original;
      process.exitCode = 0;
    }
  });

  it('lets other start-up errors through', async () => {
    await expect(
      runService(
        () => loadConfig(commonEnvSchema, {}),
        async () => Promise.reject(new Error('port in use')),
      ),
    ).rejects.toThrow('port in use');
  });

  it('exits within SHUTDOWN_TIMEOUT_MS after SIGTERM when the graceful shutdown hangs', async () => {
    // A service whose SIGTERM handler never finishes (a dependency that stopped answering) and that
    // keeps the event loop busy for ever.
    const script = `
      import { runService } from ${JSON.stringify(SHARED)};
      await runService(() => ({ SHUTDOWN_TIMEOUT_MS: 1000 }), async () => {
        process.on('SIGTERM', () => new Promise(() => undefined));
        setInterval(() => undefined, 1000);
        console.log('started');
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', () => reject(new Error(`exited before starting: ${stderr}`)));
    });
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('still running after 10 s'))), 10_000);
      child.once('exit', (exitCode) => (clearTimeout(timer), resolve(exitCode)));
    });
    expect(code).toBe(1);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1000);
    expect(stderr).toMatch(/did not finish within 1000 ms/);
  });
});
