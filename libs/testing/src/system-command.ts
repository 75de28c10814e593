import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Test files run in parallel and may install at the same time: wait for dpkg's lock instead of failing.
const WAIT_FOR_LOCK = ['-o', 'DPkg::Lock::Timeout=180'];
const BIN_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

function findCommand(command: string): string | undefined {
  return BIN_DIRS.map((dir) => `${dir}/${command}`).find(existsSync);
}

/**
 * Finds a system command a test needs (nginx, shellcheck, ...), installing its
 * Debian package first when it is missing and we are root. When there is none,
 * `reason` says why, for the test's skip message.
 */
export function ensureCommand(command: string, debianPackage = command): { path?: string; reason?: string } {
  const found = findCommand(command);
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { reason: `${command} is not installed, and installing it needs root` };
  const install = () =>
    execFileSync('apt-get', [...WAIT_FOR_LOCK, 'install', '-y', '--no-install-recommends', debianPackage], {
      stdio: 'ignore',
      timeout: 240_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    try {
      install();
    } catch {
      // The package lists may be missing or stale on a fresh machine.
      execFileSync('apt-get', [...WAIT_FOR_LOCK, 'update'], { stdio: 'ignore', timeout: 240_000 });
      install();
    }
  } catch (error) {
    return { reason: `apt-get could not install ${debianPackage}: ${(error as Error).message}` };
  }
  const installed = findCommand(command);
  return installed ? { path: installed } : { reason: `${debianPackage} was installed but ${command} was not found` };
}
