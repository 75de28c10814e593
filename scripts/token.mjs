#!/usr/bin/env node
// `pnpm token --sub alice [--role admin] [--ttl 1h]`: a token the local gateway accepts, signed with the
// JWT settings of .env and the environment. Runs the compiled CLI directly and compiles only when a source
// file is newer than it, so that a token takes a fraction of a second rather than a build.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadDotEnv } from './services.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'apps/api-gateway/dist/auth/token-cli.js');
/** The projects the CLI is compiled from. */
const PROJECTS = ['apps/api-gateway', 'libs/shared', 'libs/observability'];

/**
 * A project is compiled when its build info is newer than each of its sources (tsc leaves an output whose
 * text did not change untouched, but writes the build info on every build).
 */
function isCompiled(project) {
  const buildInfo = join(root, project, 'dist/.tsbuildinfo');
  if (!existsSync(buildInfo)) return false;
  const builtAt = statSync(buildInfo).mtimeMs;
  return readdirSync(join(root, project, 'src'), { recursive: true, withFileTypes: true }).every(
    (entry) => !entry.isFile() || statSync(join(entry.parentPath, entry.name)).mtimeMs <= builtAt,
  );
}

if (!existsSync(cli) || !PROJECTS.every(isCompiled)) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
loadDotEnv(root);
await import(pathToFileURL(cli).href);
