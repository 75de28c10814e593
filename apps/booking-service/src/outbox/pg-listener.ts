import { Logger } from '@nestjs/common';
import pg from 'pg';

/** Connecting, and each check that the connection still answers, may take this long. */
const CONNECTION_TIMEOUT_MS = 5_000;
/** How often the connection is checked: one that went silent (no error, no close) is replaced. */
const CHECK_INTERVAL_MS = 10_000;

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and calls
 * `onNotify` for each notification. pg.Pool cannot LISTEN (its clients come and
 * go), so this holds one client and reconnects by itself when the connection
 * drops or stops answering its periodic check; `onNotify` also runs after each
 * (re)connect, since notifications sent while disconnected are lost.
 */
export class PgListener {
  private readonly logger = new Logger(PgListener.name);
  private client?: pg.Client;
  private retryTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly retryDelayMs = 1_000,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `listen ${this.channel}`,
      connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
      query_timeout: CONNECTION_TIMEOUT_MS,
      keepAlive: true,
    });
    client.on('notification', () => this.onNotify());
    client.on('error', (error) => {
      this.logger.warn(`LISTEN connection lost: ${error.message}`);
      this.reconnectLater(client);
    });
    client.on('end', () => this.reconnectLater(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      this.onNotify();
      this.checkTimer ??= setInterval(() => void this.check(), CHECK_INTERVAL_MS).unref();
    } catch (error) {
      this.logger.warn(`LISTEN ${this.channel} failed: ${error instanceof Error ? error.message : String(error)}`);
      this.reconnectLater(client);
    }
  }

  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.query('SELECT 1');
    } catch (error) {
      this.logger.warn(
        `LISTEN connection stopped answering: ${error instanceof Error ? error.message : String(error)}`,
      );
      this.reconnectLater(client);
    }
  }

  private reconnectLater(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    void endWithin(client, CONNECTION_TIMEOUT_MS);
    this.retryTimer = setTimeout(() => void this.start(), this.retryDelayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.checkTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await endWithin(client, CONNECTION_TIMEOUT_MS);
  }
}

/** Ends the client politely, or drops its socket when the server does not answer in time. */
async function endWithin(client: pg.Client, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  const ended = client.end().then(
    () => false,
    () => false,
  );
  if (await Promise.race([ended, timedOut])) {
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
  clearTimeout(timer);
}
