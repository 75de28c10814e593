import { existsSync, rmSync } from 'node:fs';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';
import { testTempDir } from './test-run.js';

function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  return (
    ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync) ?? 'nats-server'
  );
}

/**
 * A private nats-server on a free port, with JetStream unless told otherwise,
 * so a test owns its subjects and streams and may stop and restart the server at will.
 */
export class PrivateNatsServer {
  private readonly storeDir = testTempDir('nats');
  private readonly server: ServerProcess;

  private constructor(
    readonly port: number,
    jetstream: boolean,
  ) {
    const args = ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', this.storeDir] : [])];
    this.server = new ServerProcess(natsServerBinary(), args, port);
  }

  static async start({ jetstream = true }: { jetstream?: boolean } = {}): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(await freePort(), jetstream);
    await server.resume();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  /** Starts the server again on the same port and store, as after a crash. */
  resume(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.kill();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
