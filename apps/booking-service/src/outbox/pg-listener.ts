import { Logger } from '@nestjs/common';
import pg from 'pg';

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and calls
 * `onNotify` for each notification. pg.Pool cannot LISTEN (its clients come and
 * go), so this holds one client and reconnects by itself when the connection
 * drops; `onNotify` also runs after each (re)connect, since notifications sent
 * while disconnected are lost.
 */
export class PgListener {
  private readonly logger = new Logger(PgListener.name);
  private client?: pg.Client;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly retryDelayMs = 1_000,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: `listen ${this.channel}` });
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
    } catch (error) {
      this.logger.warn(`LISTEN ${this.channel} failed: ${error instanceof Error ? error.message : String(error)}`);
      this.reconnectLater(client);
    }
  }

  private reconnectLater(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.retryTimer = setTimeout(() => void this.start(), this.retryDelayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
