import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, preHandlerHookHandler, RouteOptions } from 'fastify';
import { bearerToken, requireAccess } from '../auth/access.js';
import { BookingAccess, registerBookingAccessKeyHeader } from '../auth/booking-access.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { registerLingeringClose } from '../common/client-connections.js';
import { registerConditionalGets } from '../common/conditional-get.js';
import { registerGracefulShutdown } from '../common/graceful-shutdown.js';
import { sendHttpError } from '../common/http-error.filter.js';
import { registerRequestId } from '../common/request-id.js';
import { registerJsonBodyParser, registerQueryStringCheck } from '../common/request-parsing.js';
import { isApiUrl, registerSecurityHeaders } from '../common/security-headers.js';
import type { GatewayConfig } from '../config.js';
import { IdempotencyStore, type StoredResponse } from '../idempotency/idempotency.store.js';
import { admitIdempotent, registerIdempotencyRecorder } from '../idempotency/idempotent-requests.js';
import { isUnlimitedPath, registerIpRateLimit } from '../rate-limit/rate-limit.hook.js';
import { RateLimitService } from '../rate-limit/rate-limit.service.js';
import { limitUser } from '../rate-limit/user-rate-limit.js';

/**
 * The one path every request takes through the gateway, as Fastify hooks:
 *
 * 1. every request, before its body is read or a route matched (`onRequest`):
 *    its id, the security headers, the per-IP rate limit, the query string check;
 * 2. the body, by the JSON-only parser;
 * 3. the controllers' routes (the API, health, metrics), once the body is
 *    parsed (`preHandler`, added to each route as it is registered, from the
 *    route's `RoutePolicy`): the bearer token and the route's access rule, the
 *    per-user rate limit, and `Idempotency-Key` (a repeat is answered here with
 *    the stored response); then Nest's validation pipe and the controller;
 * 4. every response, before it is sent (`onSend`): `Connection: close` while
 *    shutting down, the lingering close, the idempotent outcome stored, a new
 *    booking's access key, the catalogue's ETag (a 304 when it matches).
 *
 * Hooks rather than Nest guards and interceptors: they cost nothing on the
 * routes and requests they do not concern, and a request without a token or
 * key passes step 3 without a promise. (The web app's and the API docs' pages
 * take steps 1 and 4.)
 */
export function registerRequestPipeline(app: NestFastifyApplication, config: GatewayConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  registerRequestId(fastify);
  registerJsonBodyParser(fastify);
  registerGracefulShutdown(fastify);
  // After the shutdown hook, which may also ask for `Connection: close`.
  registerLingeringClose(fastify, config);
  // Security headers before the IP rate limit, so that its 429s carry them too.
  registerSecurityHeaders(fastify);
  const limits = app.get(RateLimitService);
  registerIpRateLimit(fastify, limits);
  registerQueryStringCheck(fastify);
  const admission = { verifier: app.get(TokenVerifier), limits, store: app.get(IdempotencyStore), config };
  fastify.addHook('onRoute', (route) => {
    if (!isApiUrl(route.url) && !isUnlimitedPath(route.url)) return;
    const hooks = route.preHandler === undefined ? [] : [route.preHandler].flat();
    route.preHandler = [admissionOf(route, admission), ...hooks];
  });
  registerIdempotencyRecorder(fastify, admission.store);
  registerBookingAccessKeyHeader(fastify, app.get(BookingAccess));
  registerConditionalGets(fastify);
}

interface Admission {
  verifier: TokenVerifier;
  limits: RateLimitService;
  store: IdempotencyStore;
  config: GatewayConfig;
}

/**
 * Step 3 for one route: answers the request itself (an error, a replay) or
 * lets it go on to the controller.
 */
function admissionOf(route: RouteOptions, { verifier, limits, store, config }: Admission): preHandlerHookHandler {
  // Probes and scrapes are public and never rate limited: an orchestrator must not restart a healthy replica.
  const operatorRoute = isUnlimitedPath(route.url);
  const access = operatorRoute ? 'public' : route.config?.access;
  const limitsUsers = limits.enabled && !operatorRoute;
  const idempotent = route.config?.idempotent === true;

  /** The stored response to replay, or undefined to go on; decided at once unless a token or key is sent. */
  const admit = (request: FastifyRequest, reply: FastifyReply): Replay | Promise<Replay> => {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined) return admitWithToken(request, reply, token);
    requireAccess(access, undefined, config.AUTH_MODE);
    return idempotent ? admitIdempotent(request, store) : undefined;
  };
  const admitWithToken = async (request: FastifyRequest, reply: FastifyReply, token: string): Promise<Replay> => {
    const principal = await verifier.verify(token);
    request.principal = principal;
    requireAccess(access, principal, config.AUTH_MODE);
    if (limitsUsers) await limitUser(principal, reply, limits);
    return idempotent ? admitIdempotent(request, store) : undefined;
  };

  return (request, reply, done) => {
    const go = (replay: Replay): void => {
      if (replay === undefined) return done();
      void reply.status(replay.status).header('idempotent-replayed', 'true').send(replay.body);
    };
    const refuse = (error: unknown): void => sendHttpError(error, request, reply);
    let decision: Replay | Promise<Replay>;
    try {
      decision = admit(request, reply);
    } catch (error) {
      return refuse(error);
    }
    if (decision instanceof Promise) decision.then(go, refuse);
    else go(decision);
  };
}

type Replay = StoredResponse | undefined;
