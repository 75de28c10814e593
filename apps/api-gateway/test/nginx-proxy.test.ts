import { readFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ensureNginx, freePort, NginxProxy, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS } from '../src/common/security-headers.js';
import { SseClient } from './support/sse.js';
import { ADMIN_TOKEN, Stack } from './support/stack.js';

const nginx = ensureNginx();
if (!nginx.binary) console.warn(`Skipping the nginx tests: ${nginx.reason}`);
const binary = nginx.binary ?? '';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request with the path sent exactly as given (fetch would normalise `..`) and no automatic decompression. */
function raw(
  baseUrl: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {},
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (response: RawResponse) => JSON.parse(response.body.toString('utf8'));

/**
 * A transparent pass-through between nginx and the gateway that records what
 * reaches the upstream: the request headers nginx sets, and how many TCP
 * connections nginx opens (keep-alive).
 */
class UpstreamRecorder {
  readonly requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  connections = 0;
  port = 0;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly server: Server;

  private constructor(target: URL) {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: this.agent,
        },
        (upstream) => {
          res.writeHead(upstream.statusCode!, upstream.headers);
          upstream.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    this.server.on('connection', () => this.connections++);
  }

  static async start(target: string): Promise<UpstreamRecorder> {
    const recorder = new UpstreamRecorder(new URL(target));
    await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', resolve));
    recorder.port = (recorder.server.address() as AddressInfo).port;
    return recorder;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  last(): { method: string; url: string; headers: IncomingHttpHeaders } {
    return this.requests.at(-1)!;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe.skipIf(!nginx.binary)('nginx in front of the gateway (shipped configuration)', () => {
  let stack: Stack;
  let recorder: UpstreamRecorder;
  let proxy: NginxProxy;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    raw(proxy.baseUrl, path, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 2 });
    recorder = await UpstreamRecorder.start(stack.baseUrl);
    proxy = await NginxProxy.start(binary, { mode: 'http', upstream: recorder.address });
  });
  afterAll(async () => {
    await proxy?.stop();
    await recorder?.stop();
    await stack?.stop();
  });

  it('passes nginx -t for the development (HTTP) and production (TLS) servers', async () => {
    expect(proxy.check()).toContain('test is successful');
    const tls = await NginxProxy.render(binary, { mode: 'https', upstream: recorder.address });
    try {
      expect(tls.check()).toContain('test is successful');
    } finally {
      await tls.stop();
    }
  });

  describe('booking contract through nginx', () => {
    it('201 for a reservation, with the row in PostgreSQL', async () => {
      const eventId = await stack.db.createEvent(5);
      const response = await post('/api/bookings/reserve', { event_id: eventId, user_id: 'edge-user' });
      expect(response.status).toBe(201);
      expect(json(response)).toMatchObject({ event_id: eventId, user_id: 'edge-user' });
      expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [eventId, 'edge-user'])).toBe(1);
    });

    it('409 for a duplicate and 409 when sold out, with the exact messages', async () => {
      const eventId = await stack.db.createEvent(1);
      expect((await post('/api/bookings/reserve', { event_id: eventId, user_id: 'first' })).status).toBe(201);
      const duplicate = await post('/api/bookings/reserve', { event_id: eventId, user_id: 'first' });
      expect(duplicate.status).toBe(409);
      expect(json(duplicate)).toEqual({
        message: `User first already booked for event ${eventId}`,
        error: 'Conflict',
        statusCode: 409,
      });
      const soldOut = await post('/api/bookings/reserve', { event_id: eventId, user_id: 'second' });
      expect(soldOut.status).toBe(409);
      expect(json(soldOut)).toEqual({
        message: `No available seats for event ${eventId}`,
        error: 'Conflict',
        statusCode: 409,
      });
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    });

    it('404 for an unknown event and 400 for bad input, from the gateway', async () => {
      const missing = await post('/api/bookings/reserve', { event_id: 987654, user_id: 'u' });
      expect(missing.status).toBe(404);
      expect(json(missing)).toEqual({ message: 'Event 987654 not found', error: 'Not Found', statusCode: 404 });
      const bad = await post('/api/bookings/reserve', { event_id: 'x', user_id: '' });
      expect(bad.status).toBe(400);
      expect(json(bad)).toEqual({
        message: 'event_id must be a number; user_id must not be empty',
        error: 'Bad Request',
        statusCode: 400,
      });
      const malformed = await post('/api/bookings/reserve', '{"event_id": 1,');
      expect(malformed.status).toBe(400);
    });

    it('GET and DELETE-free reads pass through: booking by id with its access key, events list, health', async () => {
      const eventId = await stack.db.createEvent(3);
      const reserved = await post('/api/bookings/reserve', { event_id: eventId, user_id: 'reader' });
      const created = json(reserved);
      // The key travels both ways through the edge: out on the 201, back in on the read.
      const key = reserved.headers['booking-access-key'];
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const found = await raw(proxy.baseUrl, `/api/bookings/${created.id}`, {
        headers: { 'booking-access-key': String(key) },
      });
      expect(found.status).toBe(200);
      expect(json(found)).toEqual(created);
      expect((await raw(proxy.baseUrl, `/api/bookings/${created.id}`)).status).toBe(401);
      const event = await raw(proxy.baseUrl, `/api/events/${eventId}`);
      expect(json(event)).toMatchObject({ id: eventId, booked_seats: 1, available_seats: 2 });
      expect((await raw(proxy.baseUrl, '/health/ready')).status).toBe(200);
    });
  });

  describe('edge rules', () => {
    it("413 from nginx's own body limit: the oversized request never reaches the gateway", async () => {
      const before = recorder.requests.length;
      const response = await post('/api/bookings/reserve', { event_id: 1, user_id: 'x'.repeat(100_000) });
      expect(response.status).toBe(413);
      expect(json(response)).toEqual({
        message: 'Request body is too large',
        error: 'Payload Too Large',
        statusCode: 413,
      });
      expect(recorder.requests.length).toBe(before);
    });

    // On a route nginx never answers from its cache, so that every request reaches the gateway.
    it('passes a client X-Request-Id through to the gateway and back', async () => {
      const response = await raw(proxy.baseUrl, '/health/ready', { headers: { 'x-request-id': 'client-id-42' } });
      expect(response.status).toBe(200);
      expect(response.headers['x-request-id']).toBe('client-id-42');
      expect(recorder.last().headers['x-request-id']).toBe('client-id-42');
      // nginx writes its access log line after the response has gone out.
      await expect.poll(() => proxy.accessLog).toContain('"request_id":"client-id-42"');
    });

    it('sets an X-Request-Id when the client sends none or a malformed one', async () => {
      const generated = await raw(proxy.baseUrl, '/health/ready');
      const id = generated.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(recorder.last().headers['x-request-id']).toBe(id);

      const malformed = await raw(proxy.baseUrl, '/health/ready', {
        headers: { 'x-request-id': 'bad id\twith"quotes' },
      });
      expect(malformed.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(recorder.last().headers['x-request-id']).toBe(malformed.headers['x-request-id']);
    });

    it('sets X-Forwarded-* and replaces a client-supplied X-Forwarded-For', async () => {
      await raw(proxy.baseUrl, '/health/ready', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      const { headers } = recorder.last();
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers['x-real-ip']).toBe('127.0.0.1');
      expect(headers['x-forwarded-proto']).toBe('http');
      expect(headers['x-forwarded-host']).toBe('127.0.0.1');
      expect(headers['x-forwarded-port']).toBe(String(proxy.httpPort));
    });

    it('gzips JSON responses for clients that accept it', async () => {
      for (let i = 0; i < 30; i++) await stack.db.createEvent(10, `Gzip test event number ${i}`);
      // With a token, past the micro-cache, which may hold the list from before these events.
      const fresh = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const plain = await raw(proxy.baseUrl, '/api/events', { headers: fresh });
      expect(plain.body.length).toBeGreaterThan(1024);
      expect(plain.headers['content-encoding']).toBeUndefined();
      const zipped = await raw(proxy.baseUrl, '/api/events', { headers: { ...fresh, 'accept-encoding': 'gzip' } });
      expect(zipped.status).toBe(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      expect(JSON.parse(gunzipSync(zipped.body).toString('utf8'))).toEqual(json(plain));
    });

    it('adds security headers, also to errors, and hides versions', async () => {
      for (const response of [
        await raw(proxy.baseUrl, '/api/events'),
        await raw(proxy.baseUrl, '/api/events/424242'),
        await raw(proxy.baseUrl, '/nowhere'),
      ]) {
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['x-frame-options']).toBe('DENY');
        expect(response.headers['referrer-policy']).toBe('no-referrer');
        expect(response.headers['strict-transport-security']).toBeUndefined(); // plain HTTP
        expect(response.headers['x-powered-by']).toBeUndefined();
        expect(response.headers.server).toBe('nginx');
      }
      // The same policy as the gateway's own on API responses, so that it does not depend on nginx being in front.
      const api = await raw(proxy.baseUrl, '/api/events');
      for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
        if (name !== 'strict-transport-security') expect(api.headers[name], name).toBe(value);
      }
      // The docs page may load its own scripts and styles, nothing from elsewhere.
      const docs = await raw(proxy.baseUrl, '/api/docs');
      expect(recorder.last().url).toBe('/api/docs');
      expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
      expect(docs.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    });

    it('refuses /metrics from outside, however the path is spelled, without asking the gateway', async () => {
      const before = recorder.requests.length;
      for (const path of ['/metrics', '/metrics/', '/metrics?format=json', '/api/../metrics', '/api/%2e%2e/metrics']) {
        const response = await raw(proxy.baseUrl, path);
        expect(response.status, path).toBe(404);
        expect(json(response), path).toEqual({ message: 'Not Found', error: 'Not Found', statusCode: 404 });
      }
      expect(recorder.requests.slice(before).filter((r) => r.url.includes('metrics'))).toEqual([]);
    });

    it('serves the web app from the gateway, with a page CSP that allows only its own origin', async () => {
      for (const path of ['/', '/events/3', '/admin']) {
        const response = await raw(proxy.baseUrl, path);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect(response.body.toString('utf8')).toContain('<div id="app"></div>');
        expect(response.headers['content-security-policy']).toContain("default-src 'self'");
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      }
      expect((await raw(proxy.baseUrl, '/assets/missing.js')).status).toBe(404);
      expect(json(await raw(proxy.baseUrl, '/nginx-health'))).toEqual({ status: 'ok' });
    });

    it('streams live seats through nginx without buffering', async () => {
      const eventId = await stack.db.createEvent(4);
      const stream = await SseClient.open(proxy.baseUrl + '/api/events/live');
      try {
        expect(stream.response.status).toBe(200);
        expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        // Through nginx too: the booking → outbox → relay → NATS → gateway → stream.
        expect((await post('/api/bookings/reserve', { event_id: eventId, user_id: 'through-nginx' })).status).toBe(201);
        const update = await stream.waitFor(
          (message) => message.event === 'seats' && JSON.parse(message.data).event_id === eventId,
          3_000,
        );
        expect(JSON.parse(update.data)).toEqual({ event_id: eventId, available_seats: 3, total_seats: 4 });
      } finally {
        stream.close();
      }
    });

    it('reuses kept-alive connections to the gateway', async () => {
      const before = recorder.connections;
      for (let i = 0; i < 30; i++) expect((await raw(proxy.baseUrl, '/health/live')).status).toBe(200);
      // One connection per nginx worker at most, not one per request.
      expect(recorder.connections - before).toBeLessThanOrEqual(4);
    });

    it('answers a crowd reading the catalogue from a one-second micro-cache: one request reaches the gateway', async () => {
      const eventId = await stack.db.createEvent(5);
      const path = `/api/events/${eventId}`;
      const reachingGateway = () => recorder.requests.filter((request) => request.url === path).length;
      const crowd = await Promise.all(Array.from({ length: 20 }, () => raw(proxy.baseUrl, path)));
      for (const answer of crowd) {
        expect(answer.status).toBe(200);
        expect(json(answer)).toMatchObject({ id: eventId, available_seats: 5 });
        // The gateway's per-client limits are nobody else's business.
        expect(answer.headers['ratelimit-remaining']).toBeUndefined();
      }
      expect(reachingGateway()).toBe(1);
      expect((await raw(proxy.baseUrl, path)).headers['x-cache-status']).toBe('HIT');

      // A token is the gateway's to check: such a request passes, and its answer is not stored.
      const withToken = await raw(proxy.baseUrl, path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(withToken.status).toBe(200);
      expect(withToken.headers['x-cache-status']).toBe('BYPASS');
      expect(reachingGateway()).toBe(2);
      const badToken = await raw(proxy.baseUrl, path, { headers: { authorization: 'Bearer not-a-token' } });
      expect(badToken.status).toBe(401);

      // A booking shows within about a second.
      expect((await post('/api/bookings/reserve', { event_id: eventId, user_id: 'micro-cache' })).status).toBe(201);
      await waitUntil(
        async () => json(await raw(proxy.baseUrl, path)).available_seats === 4,
        5_000,
        'the micro-cache kept the count',
      );
      // Reservations never pass through it.
      expect((await post('/api/bookings/reserve', { event_id: eventId, user_id: 'micro-cache' })).status).toBe(409);
    });
  });

  it('rate-limits per client at the edge with a JSON 429', async () => {
    const limited = await NginxProxy.start(binary, {
      mode: 'http',
      upstream: recorder.address,
      vars: { NGINX_RATE_LIMIT: '1r/s', NGINX_RATE_BURST: '4' },
    });
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, () => raw(limited.baseUrl, '/api/events')));
      const statuses = responses.map((r) => r.status);
      const ok = statuses.filter((s) => s === 200).length;
      const refused = responses.filter((r) => r.status === 429);
      expect(ok + refused.length).toBe(20);
      // burst 4 plus the one the rate allows; a slow machine lets one more through per second taken.
      expect(ok).toBeGreaterThanOrEqual(5);
      expect(ok).toBeLessThanOrEqual(9);
      expect(refused.length).toBeGreaterThanOrEqual(11);
      expect(json(refused[0]!)).toEqual({
        message: 'Too many requests, slow down',
        error: 'Too Many Requests',
        statusCode: 429,
      });
      expect(refused[0]!.headers['retry-after']).toBe('1');
    } finally {
      await limited.stop();
    }
  });

  it('answers a JSON 503 when no gateway is reachable', async () => {
    const deadPort = await freePort();
    const orphan = await NginxProxy.start(binary, { mode: 'http', upstream: `127.0.0.1:${deadPort}` });
    try {
      const response = await raw(orphan.baseUrl, '/api/events');
      expect(response.status).toBe(503);
      expect(json(response)).toEqual({
        message: 'Service temporarily unavailable',
        error: 'Service Unavailable',
        statusCode: 503,
      });
    } finally {
      await orphan.stop();
    }
  });

  it('serves the API over TLS and redirects plain HTTP to HTTPS (production server)', async () => {
    const tls = await NginxProxy.start(binary, { mode: 'https', upstream: recorder.address });
    try {
      const ca = readFileSync(tls.certificatePath);
      const secure = await raw(tls.httpsUrl, '/api/events', { ca });
      expect(secure.status).toBe(200);
      expect(Array.isArray(json(secure))).toBe(true);
      expect(secure.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
      expect(recorder.last().headers['x-forwarded-proto']).toBe('https');

      const redirect = await raw(tls.baseUrl, '/api/events?x=1');
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe('https://127.0.0.1/api/events?x=1');
      expect((await raw(tls.baseUrl, '/nginx-health')).status).toBe(200);
      expect((await raw(tls.httpsUrl, '/metrics', { ca })).status).toBe(404);
    } finally {
      await tls.stop();
    }
  });
});
