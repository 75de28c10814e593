import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './free-port.js';
import { findCommand } from './system-command.js';
import { testTempDir } from './test-run.js';

/** The shipped nginx configuration (infrastructure/nginx). */
export const NGINX_CONFIG_DIR = fileURLToPath(new URL('../../../infrastructure/nginx/', import.meta.url));

/** The nginx binary (NGINX_BIN, or Debian's package). */
export function ensureNginx(): { binary?: string; reason?: string } {
  if (process.env.NGINX_BIN) return { binary: process.env.NGINX_BIN };
  const { path, reason } = findCommand('nginx');
  return { binary: path, reason };
}

export type NginxMode = 'http' | 'https';

export interface NginxOptions {
  mode: NginxMode;
  /**
   * host:port of the gateway (the `server` in the upstream block), or several:
   * what Docker's DNS gives nginx for a service with replicas.
   */
  upstream: string | string[];
  /** Overrides of the template variables (e.g. a tiny NGINX_RATE_LIMIT). */
  vars?: Record<string, string>;
}

const SERVER_TEMPLATE: Record<NginxMode, string> = { http: 'http.conf.template', https: 'https.conf.template' };

/**
 * The shipped configuration rendered the way the nginx image renders it (each
 * `${NGINX_*}` of templates/*.template filled in, output into conf.d/), on free
 * ports in a directory of its own, and an nginx started on it.
 */
export class NginxProxy {
  private process?: ChildProcess;

  private constructor(
    readonly binary: string,
    readonly dir: string,
    readonly httpPort: number,
    readonly httpsPort: number,
  ) {}

  /** Renders the configuration without starting nginx. */
  static async render(binary: string, options: NginxOptions): Promise<NginxProxy> {
    const dir = testTempDir('nginx');
    // nginx workers run unprivileged and must reach the temp directories inside.
    chmodSync(dir, 0o755);
    const proxy = new NginxProxy(binary, dir, await freePort(), await freePort());
    const upstreams = [options.upstream].flat();
    const certificate = options.mode === 'https' ? proxy.writeSelfSignedCertificate() : undefined;
    const vars: Record<string, string> = {
      NGINX_HTTP_PORT: `127.0.0.1:${proxy.httpPort}`,
      NGINX_HTTPS_PORT: `127.0.0.1:${proxy.httpsPort}`,
      NGINX_SERVER_NAME: 'localhost',
      NGINX_GATEWAY_UPSTREAM: upstreams[0]!,
      NGINX_RATE_LIMIT: '1000r/s',
      NGINX_RATE_BURST: '1000',
      NGINX_CONNECTIONS_PER_CLIENT: '100',
      NGINX_CLIENT_MAX_BODY_SIZE: '16k',
      NGINX_CACHE_DIR: join(dir, 'cache'),
      NGINX_TLS_CERTIFICATE: certificate?.cert ?? '',
      NGINX_TLS_CERTIFICATE_KEY: certificate?.key ?? '',
      ...options.vars,
    };

    cpSync(join(NGINX_CONFIG_DIR, 'nginx.conf'), join(dir, 'nginx.conf'));
    cpSync(join(NGINX_CONFIG_DIR, 'snippets'), join(dir, 'snippets'), { recursive: true });
    mkdirSync(join(dir, 'conf.d'));
    const templates: Array<[string, string]> = [
      ['gateway.conf.template', 'gateway.conf'],
      ['api-locations.inc.template', 'api-locations.inc'],
      [SERVER_TEMPLATE[options.mode], 'default.conf'],
    ];
    for (const [template, output] of templates) {
      const text = readFileSync(join(NGINX_CONFIG_DIR, 'templates', template), 'utf8');
      writeFileSync(join(dir, 'conf.d', output), withServers(renderTemplate(text, vars, template), upstreams));
    }
    // Test-only: temp files inside this directory instead of the system's /var/lib/nginx.
    const temp = join(dir, 'temp');
    writeFileSync(
      join(dir, 'conf.d', 'zz-test-temp-paths.conf'),
      ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((kind) => `${kind}_temp_path ${join(temp, kind)};`)
        .join('\n'),
    );
    mkdirSync(temp);
    return proxy;
  }

  static async start(binary: string, options: NginxOptions): Promise<NginxProxy> {
    const proxy = await NginxProxy.render(binary, options);
    await proxy.start();
    return proxy;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get httpsUrl(): string {
    return `https://localhost:${this.httpsPort}`;
  }

  get certificatePath(): string {
    return join(this.dir, 'cert.pem');
  }

  /** Everything nginx wrote to stdout (the JSON access log). */
  get accessLog(): string {
    return readFileSync(join(this.dir, 'stdout.log'), 'utf8');
  }

  private get args(): string[] {
    const globals = `daemon off; pid ${join(this.dir, 'nginx.pid')}; error_log ${join(this.dir, 'error.log')} warn;`;
    return ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-g', globals];
  }

  /** `nginx -t`: returns its report; throws with it when the configuration is invalid. */
  check(): string {
    const stdout = openSync(join(this.dir, 'stdout.log'), 'a');
    const result = spawnSync(this.binary, ['-t', ...this.args], {
      encoding: 'utf8',
      stdio: ['ignore', stdout, 'pipe'],
    });
    closeSync(stdout);
    const report = result.stderr;
    if (result.status !== 0) throw new Error(`nginx -t failed:\n${report}`);
    return report;
  }

  async start(): Promise<void> {
    // stdout is a file, not a pipe: nginx opens /dev/stdout by name for its access log, which a socket refuses.
    const stdout = openSync(join(this.dir, 'stdout.log'), 'a');
    const child = spawn(this.binary, this.args, { stdio: ['ignore', stdout, 'pipe'] });
    closeSync(stdout);
    this.process = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`nginx exited with code ${code}: ${stderr}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(this.httpPort), exited]);
  }

  /** The master's and its workers' process ids (for measuring what nginx spends); none once stopped. */
  pids(): number[] {
    const master = this.process?.pid;
    if (master === undefined || this.process?.exitCode !== null) return [];
    const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim();
    return [master, ...(children ? children.split(' ').map(Number) : [])];
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A throwaway self-signed certificate for localhost, standing in for the mounted production one. */
  private writeSelfSignedCertificate(): { cert: string; key: string } {
    const cert = join(this.dir, 'cert.pem');
    const key = join(this.dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { cert, key };
  }
}

/** The upstream block's one `server` line repeated for every address, as if DNS had returned them all. */
function withServers(conf: string, upstreams: string[]): string {
  return conf.replace(/^(\s*server )(\S+)( [^\n]*;)$/m, (_, indent: string, _first: string, rest: string) =>
    upstreams.map((address) => `${indent}${address}${rest}`).join('\n'),
  );
}

/** Fills in `${NGINX_*}` like the image's envsubst step; an unknown variable is an error, not an empty string. */
export function renderTemplate(text: string, vars: Record<string, string>, name = 'template'): string {
  return text.replace(/\$\{(NGINX_[A-Z0-9_]+)\}/g, (_, variable: string) => {
    const value = vars[variable];
    if (value === undefined) throw new Error(`${name} uses \${${variable}}, which has no value`);
    return value;
  });
}
