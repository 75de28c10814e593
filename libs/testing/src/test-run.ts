import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The process id that owns what tests create: the test run's main process (test/global-setup.ts sets it),
 * which removes it all when interrupted; the next run removes what an owner no longer alive left behind.
 */
export function testRunOwner(): number {
  return Number(process.env.BOOKING_TEST_RUN_PID) || process.pid;
}

/** A new temporary folder whose name says which test run owns it (see test/leftovers.mjs). */
export function testTempDir(kind: string): string {
  return mkdtempSync(join(tmpdir(), `booking-test-${testRunOwner()}-${kind}-`));
}
