import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand } from './system-command.js';
import { testTempDir } from './test-run.js';

/**
 * A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and localhost,
 * valid for a day, made with openssl in a temporary folder: for the servers a test runs with TLS.
 */
export class TestCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;

  private constructor(private readonly dir: string) {
    this.caFile = join(dir, 'ca.pem');
    this.certFile = join(dir, 'server.pem');
    this.keyFile = join(dir, 'server.key');
  }

  static create(): TestCertificates {
    const { path: openssl, reason } = findCommand('openssl');
    if (!openssl) throw new Error(reason);
    const certificates = new TestCertificates(testTempDir('tls'));
    const { dir } = certificates;
    const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
    const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ecKey, '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=booking test CA');
    run('req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const signedByCa = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1'];
    run('x509', '-req', '-in', 'server.csr', ...signedByCa, '-out', 'server.pem', '-extfile', 'server.ext');
    return certificates;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
