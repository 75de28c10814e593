import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';

function redisServerBinary(): string {
  if (process.env.REDIS_SERVER_BIN) return process.env.REDIS_SERVER_BIN;
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync) ?? 'redis-server';
}

/**
 * A private redis-server (no persistence) on a free port, so a test owns its
 * keys and may stop and restart the server at will.
 */
export class PrivateRedisServer {
  private readonly server: ServerProcess;

  private constructor(readonly port: number) {
    this.server = new ServerProcess(
      redisServerBinary(),
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      port,
    );
  }

  static async start(): Promise<PrivateRedisServer> {
    const server = new PrivateRedisServer(await freePort());
    await server.resume();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
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
