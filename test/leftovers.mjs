/**
 * Removes what test runs left behind: databases named booking_test_<pid>_… and temporary folders named
 * booking-test-<pid>-… (libs/testing/src/test-run.ts). `removeLeftovers()` takes those whose owning
 * process has ended; `node test/leftovers.mjs <pid>` takes those of one run, for an interrupted run
 * that cleans up after itself while it exits.
 */
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../scripts/services.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DATABASE = /^booking_test_(\d+)_/;
const FOLDER = /^booking-test-(\d+)-/;

/**
 * Removes the leftovers of every owner `owned(pid)` accepts; resolves with how many databases and folders.
 * Unless `force`, a database someone is connected to stays (its owner may run on another machine, where
 * this one cannot see whether the process lives).
 */
export async function removeLeftovers(owned = (pid) => !isAlive(pid), { force = false } = {}) {
  let folders = 0;
  for (const name of readdirSync(tmpdir())) {
    const owner = FOLDER.exec(name)?.[1];
    if (owner && owned(Number(owner))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
      folders++;
    }
  }
  // `pg` from the database library's dependencies: the root package does not list it.
  const pg = createRequire(join(root, 'libs/database/package.json'))('pg');
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  let databases = 0;
  try {
    const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'booking\\_test\\_%'");
    for (const { datname } of rows) {
      const owner = DATABASE.exec(datname)?.[1];
      if (!owner || !owned(Number(owner))) continue;
      const drop = `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)}${force ? ' WITH (FORCE)' : ''}`;
      // Without FORCE, PostgreSQL refuses a database in use (SQLSTATE 55006): it is left alone.
      const dropped = await admin.query(drop).then(
        () => true,
        (error) => (error.code === '55006' ? false : Promise.reject(error)),
      );
      if (dropped) databases++;
    }
  } finally {
    await admin.end();
  }
  return { databases, folders };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pid = Number(process.argv[2]);
  await removeLeftovers((owner) => owner === pid, { force: true });
}
