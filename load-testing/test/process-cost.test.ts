import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { waitUntil } from '@booking/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuTimeMs, parseCpuTicks, perUnitCost, startSample } from '../lib/process-cost.mjs';

/** A process that spends about 300 ms of CPU time, then idles until killed. */
const BURN = 'while (process.cpuUsage().user < 300_000); setInterval(() => {}, 1000);';
/** The same (user and system time), only once told to on stdin, so that its start-up falls outside any sample. */
const BURN_WHEN_TOLD =
  'const spent = () => { const { user, system } = process.cpuUsage(); return user + system; }; ' +
  "process.stdout.write('ready'); process.stdin.once('data', () => { const from = spent(); " +
  "while (spent() - from < 300_000); process.stdout.write('burnt'); setInterval(() => {}, 1000); });";
const children: ChildProcess[] = [];
function burner(code = BURN): ChildProcess {
  const child = spawn(process.execPath, ['-e', code], { stdio: code === BURN ? 'ignore' : 'pipe' });
  children.push(child);
  return child;
}
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
afterEach(async () => {
  await Promise.all(children.splice(0).map(kill));
});

describe('per-process cost from /proc', () => {
  it('reads user + system ticks after the command, whatever the command holds', () => {
    const fields = 'S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 1 0 4821';
    expect(parseCpuTicks(`1234 (node) ${fields}`)).toBe(325);
    expect(parseCpuTicks(`1234 (a) (b c) ${fields}`)).toBe(325);
    expect(parseCpuTicks(readFileSync('/proc/self/stat', 'utf8'))).toBeGreaterThan(0);
  });

  it("charges a process's CPU time over the sample, also when it is stopped before the sample ends", async () => {
    const child = burner(BURN_WHEN_TOLD);
    await once(child.stdout!, 'data');
    const group = { name: 'burner', partOfSystem: true, pids: async () => [child.pid!] };
    const sample = await startSample([group]);
    const burnt = once(child.stdout!, 'data');
    child.stdin!.write('go');
    await burnt;
    await sample.update();
    await kill(child);
    const [row] = await sample.finish();
    expect(row).toMatchObject({ name: 'burner', partOfSystem: true, per: 'request', processes: 1 });
    // The 300 ms all fall within the sample. /proc counts whole clock ticks (10 ms), so the two readings
    // may each cut one off; what starting up had left and the last tick may add a little.
    expect(row.cpuMs).toBeGreaterThanOrEqual(290);
    expect(row.cpuMs).toBeLessThanOrEqual(450);
    expect(row.peakRssMb).toBeGreaterThan(0);
  });

  it('leaves out a process started during the sample, unless its group counts new processes', async () => {
    const started: ChildProcess[] = [];
    const pids = async () => started.map((child) => child.pid!);
    const sample = await startSample([
      { name: 'restarted service', pids },
      { name: 'postgres', newProcessesCount: true, pids },
    ]);
    const late = burner();
    started.push(late);
    await waitUntil(async () => (cpuTimeMs(late.pid!) ?? 0) >= 250, 30_000, 'the late burner spent its CPU time');
    const rows = await sample.finish();
    expect(rows.map(({ name }) => name)).toEqual(['postgres']);
    expect(rows[0].cpuMs).toBeGreaterThanOrEqual(250);
    expect(rows[0].peakRssMb).toBeUndefined();
  });

  it('divides by requests, or by events for a process measured per event', () => {
    const rows = [
      { name: 'api-gateway', per: 'request', cpuMs: 1500 },
      { name: 'notification-service', per: 'event', cpuMs: 600 },
    ];
    expect(perUnitCost(rows, { requests: 10_000, events: 3_000 }).map((r) => r.cpuUsPerUnit)).toEqual([150, 200]);
    expect(perUnitCost(rows, { requests: 0, events: undefined }).map((r) => r.cpuUsPerUnit)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
