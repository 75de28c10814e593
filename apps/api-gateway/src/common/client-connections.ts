import type { IncomingMessage, Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config.js';

/**
 * How long a client may hold a connection without completing a request, as
 * Fastify options: the headers within HTTP_HEADERS_TIMEOUT_MS and the whole
 * request within HTTP_REQUEST_TIMEOUT_MS (else 408 and close; the response, such
 * as the live stream, may last as long as it needs); an idle keep-alive
 * connection is closed after HTTP_IDLE_TIMEOUT_MS. Node checks the first two only
 * every `connectionsCheckingInterval`, 30 s by default, so a 10 s limit could
 * hold for 40 s: here the check runs every tenth of the header limit, at most
 * every second (it walks only the connections with a request in progress).
 * `requestTimeout` and `keepAliveTimeout` are Fastify's own options (Fastify sets
 * them on the server after creating it); the other two are Node's, passed in `http`.
 */
export function connectionTimeouts(
  limits: Pick<GatewayConfig, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_IDLE_TIMEOUT_MS'>,
): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'http'> {
  return {
    requestTimeout: limits.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: limits.HTTP_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout: limits.HTTP_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.HTTP_HEADERS_TIMEOUT_MS / 10)),
    },
  };
}

/**
 * When the gateway closes a connection whose request body is still arriving
 * (Fastify answers a body over BODY_LIMIT_BYTES with 413 and `Connection: close`),
 * closing at once leaves unread bytes, which make the kernel reset the
 * connection, and a client still sending (Node's fetch with a 5 MiB body) loses
 * the answer it had not read yet. So, like nginx's lingering close, the gateway
 * sends the answer and its FIN, reads and discards what still comes, and closes
 * once the body is complete, or after HTTP_LINGER_MAX_BYTES more bytes or
 * HTTP_LINGER_MS, whichever is first. Neither Node nor Fastify does this.
 * (A refusal that keeps the connection open needs nothing: Node reads and drops
 * the rest of the body, within HTTP_REQUEST_TIMEOUT_MS.)
 */
export function registerLingeringClose(
  fastify: FastifyInstance,
  limits: Pick<GatewayConfig, 'HTTP_LINGER_MAX_BYTES' | 'HTTP_LINGER_MS'>,
): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && reply.getHeader('connection') === 'close') {
      lingerBeforeClosing(request.raw, limits.HTTP_LINGER_MAX_BYTES, limits.HTTP_LINGER_MS);
    }
    done(null, payload);
  });
}

function lingerBeforeClosing(request: IncomingMessage, maxBytes: number, maxMs: number): void {
  const socket = request.socket;
  let discarded = 0;
  // Reading the body ourselves also keeps Node from dumping it (it would then discard it unseen and unbounded).
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) socket.destroy();
  });
  // Node ends a response that says `Connection: close` with socket.destroySoon(): its end (FIN) and, once
  // written, destroy. The destroy waits here until the body is complete, or the bounds are reached.
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), maxMs);
    socket.once('close', () => clearTimeout(timer));
    if (request.complete) destroySoon();
    else request.once('end', destroySoon);
  };
}
