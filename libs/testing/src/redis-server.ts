import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';

function redisServerBinary(): string {
  if (process.env.REDIS_SERVER_BIN) return process.env.REDIS_SERVER_BIN;
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync) ?? 'redis-server';
}

/** The server's certificate and key (PEM files) for a redis-server that speaks TLS. */
export interface RedisTls {
  certFile: string;
  keyFile: string;
}

/**
 * A private redis-server (no persistence) on a free port, so a test owns its
 * keys and may stop and restart the server at will.
 */
export class PrivateRedisServer {
  private readonly server: ServerProcess;

  private constructor(
    readonly port: number,
    private readonly tls?: RedisTls,
  ) {
    // With TLS the port speaks TLS only (clients are not asked for certificates).
    const ports = tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile]
      : ['--port', String(port)];
    const args = [...ports, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
    this.server = new ServerProcess(redisServerBinary(), tls ? [...args, '--tls-auth-clients', 'no'] : args, port);
  }

  static async start({ tls }: { tls?: RedisTls } = {}): Promise<PrivateRedisServer> {
    const server = new PrivateRedisServer(await freePort(), tls);
    await server.resume();
    return server;
  }

  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  /** Starts the server (again) on the same port, empty, as after a crash. */
  resume(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.kill();
  }
}
