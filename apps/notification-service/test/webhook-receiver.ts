import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  eventId: string;
  userId: string;
  status: number;
}

/**
 * A local HTTP server standing in for a notification webhook. `respond` picks
 * the status for each request from the event's user id and how many times this
 * event was posted before (0 for the first time).
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server!: Server;

  constructor(private readonly respond: (userId: string, previousRequests: number) => number | Promise<number>) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const envelope = JSON.parse(body) as { id: string; data: { user_id: string } };
        const eventId = String(request.headers['idempotency-key']);
        const previous = this.requests.filter((r) => r.eventId === eventId).length;
        void Promise.resolve(this.respond(envelope.data.user_id, previous)).then((status) => {
          this.requests.push({ eventId, userId: envelope.data.user_id, status });
          if (!response.destroyed) response.writeHead(status).end();
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  for(eventId: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.eventId === eventId);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
