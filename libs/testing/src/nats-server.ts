import { existsSync, rmSync } from 'node:fs';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';
import { testTempDir } from './test-run.js';
import { waitForHttpOk } from './wait.js';

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
    extraArgs: readonly string[],
    env: Record<string, string>,
  ) {
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      ...(jetstream ? ['-js', '-sd', this.storeDir] : []),
      ...extraArgs,
    ];
    this.server = new ServerProcess(natsServerBinary(), args, port, env);
  }

  /**
   * `extraArgs` are more nats-server options (a cluster node's name, routes, monitoring port, a configuration
   * file); `env`, variables for the server (those a configuration file refers to).
   */
  static async start({
    jetstream = true,
    port,
    extraArgs = [],
    env = {},
  }: {
    jetstream?: boolean;
    port?: number;
    extraArgs?: readonly string[];
    env?: Record<string, string>;
  } = {}): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(port ?? (await freePort()), jetstream, extraArgs, env);
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

/**
 * A cluster of private nats-servers with JetStream, joined by routes on free ports: streams may
 * keep up to `size` replicas, and a test may kill and restart any node.
 */
export class NatsCluster {
  private constructor(
    readonly name: string,
    readonly nodes: readonly PrivateNatsServer[],
    private readonly monitorPorts: readonly number[],
  ) {}

  static async start(size = 3): Promise<NatsCluster> {
    const name = `test-${process.pid}-${Date.now()}`;
    const ports = async () => Promise.all(Array.from({ length: size }, () => freePort()));
    const [clientPorts, routePorts, monitorPorts] = [await ports(), await ports(), await ports()];
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
    const nodes = await Promise.all(
      clientPorts.map((port, i) =>
        PrivateNatsServer.start({
          port,
          extraArgs: [
            '-n',
            `${name}-${i}`,
            '--cluster_name',
            name,
            '--cluster',
            `nats://127.0.0.1:${routePorts[i]}`,
            '--routes',
            routes,
            '-m',
            String(monitorPorts[i]),
          ],
        }),
      ),
    );
    const cluster = new NatsCluster(name, nodes, monitorPorts);
    await cluster.healthy(30_000);
    return cluster;
  }

  /** Every node's client URL, comma-separated (as NATS_URL takes a cluster). */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  /** The node a server name (as in a stream's cluster info) belongs to. */
  node(serverName: string): PrivateNatsServer {
    const node = this.nodes[this.nodes.findIndex((_, i) => `${this.name}-${i}` === serverName)];
    if (!node) throw new Error(`no node named ${serverName}`);
    return node;
  }

  /** Resolves once every running node reports JetStream healthy (a meta leader known, its streams current). */
  async healthy(timeoutMs: number): Promise<void> {
    await Promise.all(this.monitorPorts.map((port) => waitForHttpOk(`http://127.0.0.1:${port}/healthz`, timeoutMs)));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }
}
