// Starts the system under test as separate processes (as in production), on
// its own database, and reads each process's peak resident memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForHttpOk } from '@booking/testing';
import pg from 'pg';
import { SERVICE_NODE_OPTIONS } from '../../scripts/service-node-options.mjs';

export async function recreateDatabase(adminUrl, name) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Peak resident set size of a process in MB (VmHWM), or undefined once it has gone. */
export function peakRssMb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export class SystemUnderTest {
  constructor(root) {
    this.root = root;
    this.processes = [];
    this.cleanups = [];
  }

  /** Runs `cleanup` on stop, after the processes have stopped (a proxy in front of them, a server behind them). */
  onStop(cleanup) {
    this.cleanups.push(cleanup);
  }

  start(name, main, env) {
    const child = spawn(process.execPath, [join(this.root, main)], {
      cwd: this.root,
      env: { ...process.env, NODE_OPTIONS: SERVICE_NODE_OPTIONS, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.processes.push({ name, child });
    return child;
  }

  waitReady(url) {
    return waitForHttpOk(url, 30_000);
  }

  peakMemory() {
    return this.processes.map(({ name, child }) => ({ name, pid: child.pid, peakRssMb: peakRssMb(child.pid) }));
  }

  async stop() {
    await Promise.all(
      this.processes.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    for (const cleanup of this.cleanups.splice(0)) await cleanup();
  }
}
