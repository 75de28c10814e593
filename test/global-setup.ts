import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// Plain Node, so that an interrupted run can also start it as `node test/leftovers.mjs <pid>`.
import { removeLeftovers } from './leftovers.mjs';

const LEFTOVERS = fileURLToPath(new URL('./leftovers.mjs', import.meta.url));

/**
 * Vitest exits a moment after SIGINT or SIGTERM without running teardowns, so what the run created is
 * removed right there, synchronously, by a child process (a promise would not finish before the exit).
 */
function removeOwnOnSignal(): void {
  process.stderr.write('\nInterrupted: removing the test databases and temporary folders of this run…\n');
  spawnSync(process.execPath, [LEFTOVERS, String(process.pid)], { stdio: 'inherit', timeout: 20_000 });
}

/**
 * Marks this process as the owner of what the test files create (the workers inherit the variable),
 * removes what earlier, interrupted runs left, and what this run leaves once it ends or is interrupted.
 * Each project of the configuration calls it; the first call does the work.
 */
export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.BOOKING_TEST_RUN_PID === String(process.pid)) return;
  process.env.BOOKING_TEST_RUN_PID = String(process.pid);
  const removed = await removeLeftovers();
  if (removed.databases + removed.folders > 0) {
    console.log(`Removed ${removed.databases} databases and ${removed.folders} folders of interrupted test runs`);
  }
  process.once('SIGINT', removeOwnOnSignal);
  process.once('SIGTERM', removeOwnOnSignal);
  return async () => {
    process.off('SIGINT', removeOwnOnSignal);
    process.off('SIGTERM', removeOwnOnSignal);
    await removeLeftovers((pid: number) => pid === process.pid, { force: true });
  };
}
