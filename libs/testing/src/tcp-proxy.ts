import { connect, createServer, type Server, type Socket } from 'node:net';

/** `up`: from the client to the server; `down`: the answers. */
export type Direction = 'up' | 'down';

/** One client connection and its upstream, with what the proxy holds back while hung. */
class Link {
  /** Bytes held while the proxy hangs, per direction, delivered in order on resume. */
  private readonly held = { up: [] as Buffer[], down: [] as Buffer[] };
  /** A silenced link forwards nothing, ever again, and keeps both sockets open. */
  silenced = false;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly proxy: { hung: Set<Direction> },
  ) {
    client.on('data', (chunk) => this.forward('up', chunk));
    upstream.on('data', (chunk) => this.forward('down', chunk));
  }

  private forward(direction: 'up' | 'down', chunk: Buffer): void {
    if (this.silenced) return;
    if (this.proxy.hung.has(direction)) this.held[direction].push(chunk);
    else (direction === 'up' ? this.upstream : this.client).write(chunk);
  }

  /** Bytes are waiting to be delivered on resume. */
  get holding(): boolean {
    return this.held.up.length > 0 || this.held.down.length > 0;
  }

  flush(): void {
    if (this.silenced) return;
    for (const chunk of this.held.up.splice(0)) this.upstream.write(chunk);
    for (const chunk of this.held.down.splice(0)) this.client.write(chunk);
  }

  /** Closes both sides; what a hung proxy still holds is delivered first, as TCP would after the stall. */
  close(): void {
    if (this.holding && this.proxy.hung.size > 0) return;
    this.client.end();
    this.upstream.end();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

/**
 * A TCP proxy on a free port in front of host:port that a test uses to inject
 * network faults without touching the shared server behind it:
 *
 * - `cut()`: every connection is closed and new ones are refused, as when a server goes away;
 * - `hang()` / `resume()`: connections stay open and new ones are accepted, but no byte moves (or none
 *   in one direction) until `resume()`, which then delivers everything held, late (a stalled server or
 *   network path; answers lost on the way back);
 * - `silenceExisting()`: the connections open now go silent for good (what they send is lost, the
 *   sockets stay open), while new connections work (a failover that leaves old sockets dangling);
 * - `repoint(port)`: new connections go to another server and the open ones are dropped, as a
 *   Kubernetes Service does once its endpoints move to a promoted standby.
 *
 * node:net is all a byte pipe needs.
 */
export class TcpProxy {
  private server?: Server;
  private readonly links = new Set<Link>();
  private readonly state = { hung: new Set<Direction>() };
  port = 0;

  private constructor(
    private targetHost: string,
    private targetPort: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.restore();
    return proxy;
  }

  /** `url` (e.g. a DATABASE_URL) pointing at this proxy instead of the server behind it. */
  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  /** Connections currently open through the proxy (silenced ones included). */
  get connections(): number {
    return this.links.size;
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const link = new Link(client, upstream, this.state);
      this.links.add(link);
      for (const socket of [client, upstream]) {
        socket.on('error', () => undefined);
        // One side closing closes the other, after anything still held for it; never across a silenced
        // link, whose peer goes on waiting (a server keeps the session of a client it cannot hear).
        socket.once('end', () => {
          if (!link.silenced) link.close();
        });
        socket.once('close', () => {
          if (link.silenced || (link.holding && this.state.hung.size > 0)) return;
          this.links.delete(link);
          link.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  /** Drops every open connection and stops listening: connecting now fails with ECONNREFUSED. */
  async cut(): Promise<void> {
    this.state.hung.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const link of this.links) link.destroy();
    this.links.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Stops moving bytes in both directions, or only in one (`down`: requests
   * reach the server, its answers are held); connections stay open and new
   * ones are accepted.
   */
  hang(directions: readonly Direction[] = ['up', 'down']): void {
    for (const direction of directions) this.state.hung.add(direction);
  }

  /** Delivers what was held during `hang()`, late (also to a peer whose other side has closed meanwhile), and forwards normally again. */
  resume(): void {
    this.state.hung.clear();
    for (const link of this.links) {
      link.flush();
      if (link.client.destroyed || link.upstream.destroyed) {
        link.close();
        this.links.delete(link);
      }
    }
  }

  /**
   * The connections open now lose every byte from here on, and neither side hears when the other closes
   * (until `stop()`); new connections work.
   */
  silenceExisting(): void {
    for (const link of this.links) link.silenced = true;
  }

  /** Sends new connections to host:port from now on, and drops every open one. */
  repoint(targetPort: number, targetHost = '127.0.0.1'): void {
    this.targetPort = targetPort;
    this.targetHost = targetHost;
    for (const link of this.links) link.destroy();
    this.links.clear();
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
