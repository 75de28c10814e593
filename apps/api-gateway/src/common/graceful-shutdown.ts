import type { FastifyInstance } from 'fastify';

/**
 * On shutdown Fastify stops accepting connections and waits for requests in
 * flight; their responses then say `Connection: close`, so keep-alive clients
 * let go and the server can finish closing instead of waiting on idle sockets.
 * In-flight requests are bounded by NATS_REQUEST_TIMEOUT_MS, so shutdown is too.
 * The `onSend` hook runs on every response, so it takes a callback rather than
 * returning a promise.
 */
export function registerGracefulShutdown(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
}
