import { existsSync } from 'node:fs';

const BIN_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/**
 * Finds a system command a test needs (nginx, promtool, ...). Tests never
 * install anything: `.ci/run` installs the Debian packages. When the command
 * is missing, `reason` says which package to install, for the skip message.
 */
export function findCommand(command: string, debianPackage = command): { path?: string; reason?: string } {
  const found = BIN_DIRS.map((dir) => `${dir}/${command}`).find(existsSync);
  if (found) return { path: found };
  return { reason: `${command} is not installed (Debian package ${debianPackage}; .ci/run installs it)` };
}
