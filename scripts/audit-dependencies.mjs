#!/usr/bin/env node
// `pnpm audit --prod --audit-level high` for `.ci/run`, with the installed pnpm: fails on a high or
// critical advisory in the production dependencies of the lockfile, as CI's audit job does. Unlike
// CI it does not fail when the registry gives no audit (an offline machine; the endpoints pnpm 10
// asks, which the npm registry has retired): it says in one line that the audit was skipped and why.
// Every attempt ends within AUDIT_TIMEOUT_SECONDS (default 15). Arguments are passed on to pnpm
// audit (e.g. --registry). Accepting an advisory: docs/supply-chain.md.
import { execFile } from 'node:child_process';

const timeoutSeconds = Number(process.env.AUDIT_TIMEOUT_SECONDS ?? 15);
const AUDIT = ['audit', '--prod', '--audit-level', 'high', '--json', ...process.argv.slice(2)];
// Errors that mean the registry gave no audit: it answered without one, or the request itself
// failed (pnpm 10 reports those as "request to <url> failed, reason: …", pnpm 11 as "fetch failed").
const UNREACHABLE_CODES = new Set(['ERR_PNPM_AUDIT_BAD_RESPONSE', 'ERR_PNPM_AUDIT_ENDPOINT_NOT_EXISTS']);
const UNREACHABLE_MESSAGE = /^request to \S+ failed|^fetch failed/;

function runAudit() {
  return new Promise((resolve) => {
    execFile(
      'pnpm',
      AUDIT,
      {
        timeout: timeoutSeconds * 1000,
        maxBuffer: 64 * 1024 * 1024,
        // One attempt, bounded by the same deadline: a retry's back-off alone is 10 s or more.
        env: {
          ...process.env,
          npm_config_fetch_retries: '0',
          npm_config_fetch_timeout: String(timeoutSeconds * 1000),
        },
      },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    );
  });
}

/** pnpm's JSON answer: an audit report, or `{ error: { code, message } }`; undefined when there is none. */
function parseOutput(stdout) {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    return undefined;
  }
}

const skip = (reason) => {
  console.log(`pnpm audit skipped, no audit from the registry: ${reason}`);
  process.exit(0);
};

const { error, stdout, stderr } = await runAudit();
if (error?.killed) skip(`no answer within ${timeoutSeconds} s`);
const output = parseOutput(stdout);

if (output?.error) {
  const { code, message = '' } = output.error;
  if (UNREACHABLE_CODES.has(code) || UNREACHABLE_MESSAGE.test(message)) {
    // "The audit endpoint (at <url>) responded with 405: <body>. Fallback endpoint …" → "<url> answered 405"
    skip(message.replace(/^The audit endpoint \(at (\S+)\) responded with (\d+).*$/s, '$1 answered $2'));
  }
  console.error(`pnpm audit failed: ${code ?? ''} ${message}`);
  process.exit(1);
}
if (!output?.advisories) {
  console.error(`pnpm audit gave no report:\n${stdout}${stderr}`);
  process.exit(1);
}

// pnpm has already dropped advisories below the level and those accepted in auditConfig.
const advisories = Object.values(output.advisories);
if (advisories.length === 0) {
  console.log('pnpm audit: no high or critical advisory in the production dependencies');
  process.exit(0);
}
console.error(`pnpm audit: ${advisories.length} high or critical advisories in the production dependencies`);
for (const advisory of advisories) {
  console.error(
    `  ${advisory.severity} ${advisory.module_name} ${advisory.vulnerable_versions} ` +
      `(patched ${advisory.patched_versions}): ${advisory.title} ${advisory.github_advisory_id ?? ''} ${advisory.url}`,
  );
}
console.error('Update the dependency, or accept the advisory as docs/supply-chain.md says.');
process.exit(1);
