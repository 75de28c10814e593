import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionTimeouts } from '../src/common/client-connections.js';
import { loadGatewayConfig } from '../src/config.js';
import { Stack } from './support/stack.js';

// Short limits, so that each case takes about a second.
const HEADERS_MS = 500;
const REQUEST_MS = 1_500;
const IDLE_MS = 1_000;
const LINGER_BYTES = 6 * 1024 * 1024;
const LINGER_MS = 1_500;
// Node closes an idle keep-alive connection a second after the limit it advertises.
const NODE_KEEP_ALIVE_GRACE_MS = 1_000;
// How late a close may come after its limit on a busy two-core machine (the gateway checks every 50 ms here).
const SLACK_MS = 2_000;
const MiB = 1024 * 1024;

const REQUEST_TOO_LARGE = { message: 'Request body is too large', error: 'Payload Too Large', statusCode: 413 };

/** A raw TCP client: writes exactly what it is told, records what it receives and when the server closes. */
class RawClient {
  received = '';
  readonly openedAt = performance.now();
  closedAt: number | undefined;
  private readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    // A reset while still writing is one way of being closed; the tests look at when and what was received.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
  }

  /** `allowHalfOpen`: keep sending after the server's FIN, as a client that ignores it would. */
  static async open(baseUrl: string, allowHalfOpen = false): Promise<RawClient> {
    const { hostname, port } = new URL(baseUrl);
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** Milliseconds from connecting until the server closed; fails if it is still open after `timeoutMs`. */
  async closedAfter(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.closedAt! - this.openedAt;
  }

  /** Waits until the received text holds `count` complete responses (all of each body, by its content-length). */
  async responses(count: number, timeoutMs = 5_000): Promise<string[]> {
    const complete = (response: string): boolean => {
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(response)?.[1];
      const bodyStart = response.indexOf('\r\n\r\n') + 4;
      return length !== undefined && bodyStart > 3 && response.length - bodyStart >= Number(length);
    };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const responses = this.received.split(/(?=HTTP\/1\.1 )/).filter(complete);
      if (responses.length >= count) return responses;
      if (Date.now() > deadline) throw new Error(`no ${count} responses within ${timeoutMs} ms: ${this.received}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Writes `text` a byte at a time, one every `everyMs`, until the connection closes. */
  dribble(text: string, everyMs: number): void {
    let next = 0;
    const timer = setInterval(() => {
      if (this.socket.destroyed || !this.socket.writable) return clearInterval(timer);
      this.socket.write(text[next++ % text.length]!);
    }, everyMs);
    this.socket.once('close', () => clearInterval(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const statusOf = (response: string): number => Number(response.slice(9, 12));
const jsonBodyOf = (response: string): unknown => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
const reserveHeaders = (contentLength: number): string =>
  `POST /api/bookings/reserve HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;

describe('connection limits configuration', () => {
  it('has defaults for a direct client, checked every second, and refuses a header limit over the request limit', () => {
    const config = loadGatewayConfig({});
    expect(connectionTimeouts(config)).toEqual({
      requestTimeout: 30_000,
      keepAliveTimeout: 72_000,
      http: { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
    });
    expect([config.HTTP_LINGER_MAX_BYTES, config.HTTP_LINGER_MS]).toEqual([8 * MiB, 5_000]);
    expect(() => loadGatewayConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
    expect(() => loadGatewayConfig({ HTTP_IDLE_TIMEOUT_MS: 'soon' })).toThrow(/HTTP_IDLE_TIMEOUT_MS/);
  });
});

describe('slow clients', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      gatewayEnv: {
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        HTTP_IDLE_TIMEOUT_MS: String(IDLE_MS),
        HTTP_LINGER_MAX_BYTES: String(LINGER_BYTES),
        HTTP_LINGER_MS: String(LINGER_MS),
        LIVE_HEARTBEAT_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('closes a connection whose headers come a byte at a time once HTTP_HEADERS_TIMEOUT_MS is over', async () => {
    const client = await RawClient.open(stack.baseUrl);
    client.socket.write('GET /api/events HTTP/1.1\r\nHost: gateway\r\n');
    client.dribble('X-Slow: abcdefghijklmnopqrstuvwxyz\r\n', 50);
    const elapsed = await client.closedAfter(HEADERS_MS + SLACK_MS);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_MS);
    // The connection gets Fastify's 408 just before it is closed, never a response to the request.
    expect(client.received).toMatch(/^(HTTP\/1\.1 408 Request Timeout\r\n[^]*"statusCode":408\}|)$/);
  });

  it('closes a connection that sends nothing once HTTP_HEADERS_TIMEOUT_MS is over', async () => {
    const client = await RawClient.open(stack.baseUrl);
    const elapsed = await client.closedAfter(HEADERS_MS + SLACK_MS);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_MS);
  });

  it('answers a body that comes a byte at a time with 408 once HTTP_REQUEST_TIMEOUT_MS is over, booking nothing', async () => {
    const eventId = await stack.db.createEvent(10);
    const body = JSON.stringify({ event_id: eventId, user_id: 'slow-body' });
    const client = await RawClient.open(stack.baseUrl);
    client.socket.write(reserveHeaders(Buffer.byteLength(body)));
    // 100 ms a byte: the 40-odd bytes would take four seconds, over the request limit.
    client.dribble(body, 100);
    const elapsed = await client.closedAfter(REQUEST_MS + SLACK_MS);
    expect(elapsed).toBeGreaterThanOrEqual(REQUEST_MS);
    expect(client.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await stack.db.count('bookings')).toBe(0);
  });

  it('closes an idle keep-alive connection once HTTP_IDLE_TIMEOUT_MS is over, and not before', async () => {
    const client = await RawClient.open(stack.baseUrl);
    client.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const [response] = await client.responses(1);
    expect(statusOf(response!)).toBe(200);
    expect(response).toMatch(/\r\nkeep-alive: timeout=1\r\n/i);
    const answeredAt = performance.now() - client.openedAt;
    const elapsed = await client.closedAfter(IDLE_MS + NODE_KEEP_ALIVE_GRACE_MS + SLACK_MS);
    expect(elapsed - answeredAt).toBeGreaterThanOrEqual(IDLE_MS);
  });

  it('serves a client that keeps its connection busy: requests within the idle limit, a stream past the request limit', async () => {
    const client = await RawClient.open(stack.baseUrl);
    for (let i = 1; i <= 3; i++) {
      client.socket.write('GET /api/events HTTP/1.1\r\nHost: gateway\r\n\r\n');
      const responses = await client.responses(i);
      expect(statusOf(responses[i - 1]!)).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 2));
    }
    expect(client.closedAt).toBeUndefined();
    client.destroy();

    // The request limit counts receiving the request, not the answer: a live stream outlasts it.
    const stream = await RawClient.open(stack.baseUrl);
    stream.socket.write('GET /api/events/live HTTP/1.1\r\nHost: gateway\r\nAccept: text/event-stream\r\n\r\n');
    const heartbeats = async (count: number) => {
      const deadline = Date.now() + REQUEST_MS + SLACK_MS;
      while ((stream.received.match(/: ping\n/g) ?? []).length < count) {
        if (Date.now() > deadline || stream.closedAt !== undefined) throw new Error(`stream: ${stream.received}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await heartbeats(2);
    expect(performance.now() - stream.openedAt).toBeGreaterThan(REQUEST_MS);
    expect(stream.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(stream.closedAt).toBeUndefined();
    stream.destroy();

    const eventId = await stack.db.createEvent(10);
    expect((await stack.reserve({ event_id: eventId, user_id: 'normal' })).status).toBe(201);
  });
});

describe('bodies over BODY_LIMIT_BYTES', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      gatewayEnv: { HTTP_LINGER_MAX_BYTES: String(LINGER_BYTES), HTTP_LINGER_MS: String(LINGER_MS) },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("reach Node's fetch, in a process of its own, as a 413 with the API's error body", async () => {
    // In another process, as a real client is: in this one, the client's reads and the server's close take turns.
    const script = `
      const body = 'x'.repeat(5 * 1024 * 1024);
      const results = [];
      for (let i = 0; i < 5; i++) {
        try {
          const response = await fetch(process.env.URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          results.push({ status: response.status, body: await response.json() });
        } catch (error) {
          results.push({ error: String(error.cause?.code ?? error) });
        }
      }
      console.log(JSON.stringify(results));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, URL: `${stack.baseUrl}/api/bookings/reserve` },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual(Array(5).fill({ status: 413, body: REQUEST_TOO_LARGE }));
  });

  it('reach a client that reads only after sending its whole 5 MiB body', async () => {
    const client = await RawClient.open(stack.baseUrl);
    client.socket.pause();
    client.socket.write(reserveHeaders(5 * MiB));
    await new Promise<void>((resolve) => client.socket.write(Buffer.alloc(5 * MiB, 'x'), () => resolve()));
    client.socket.resume();
    const [response] = await client.responses(1);
    expect(statusOf(response!)).toBe(413);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(jsonBodyOf(response!)).toEqual(REQUEST_TOO_LARGE);
    // All of the body was read, so the gateway closes at once rather than at HTTP_LINGER_MS.
    expect(await client.closedAfter(SLACK_MS)).toBeLessThan(LINGER_MS);
  });

  it('disconnect a client that goes on sending slowly once HTTP_LINGER_MS is over', async () => {
    const client = await RawClient.open(stack.baseUrl, true);
    client.socket.write(reserveHeaders(MiB) + 'x'.repeat(1024));
    const [response] = await client.responses(1);
    expect(statusOf(response!)).toBe(413);
    client.dribble('x', 50);
    const elapsed = await client.closedAfter(LINGER_MS + SLACK_MS);
    // The gateway's linger began once the request had been sent, so after the client opened: not closed before
    // LINGER_MS from then (from the 413's arrival would be later still, by however long a busy machine delays it).
    expect(elapsed).toBeGreaterThanOrEqual(LINGER_MS - 50);
  });

  it('disconnect a client that sends far beyond HTTP_LINGER_MAX_BYTES, while others are served', async () => {
    const total = 256 * MiB;
    const client = await RawClient.open(stack.baseUrl, true);
    client.socket.write(reserveHeaders(total));
    const chunk = Buffer.alloc(MiB, 'x');
    let sent = 0;
    const flood = async () => {
      const { socket } = client;
      while (sent < total && !socket.destroyed) {
        sent += chunk.length;
        if (socket.write(chunk)) continue;
        await new Promise<void>((resolve) => {
          const go = () => (socket.off('drain', go).off('close', go), resolve());
          socket.on('drain', go).on('close', go);
        });
      }
      socket.end();
    };
    const flooding = flood();
    const others = await Promise.all(Array.from({ length: 5 }, () => stack.request('GET', '/health/live')));
    expect(others.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    await client.closedAfter(LINGER_MS + SLACK_MS);
    await flooding;
    const [response] = await client.responses(1);
    expect(statusOf(response!)).toBe(413);
    // Cut off after the bound: what was handed to the kernel is at most the bound plus the socket buffers.
    expect(sent).toBeLessThan(total / 4);
  });
});
