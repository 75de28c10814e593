import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { GatewayConfig } from '../config.js';

/** apps/web/dist, the same relative path from src/web (tests) and dist/web (built). */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/**
 * The web app's client-side routes (apps/web/src/app.tsx), answered with index.html. Listed rather than a
 * catch-all, so nothing under /api, /health or /metrics can ever be answered with the page, and the
 * router's own rules (e.g. 414 for an over-long path segment) keep applying there.
 */
const CLIENT_ROUTES = ['/events/:id', '/events/:id/queue', '/bookings', '/admin'] as const;

/** The API's and the operators' paths: a miss there is the JSON 404 whoever asks. */
const NEVER_THE_PAGE = /^\/(api|health|metrics)(\/|\?|$)/;

/**
 * Whether a request that matched no route is a browser navigating to a page: a GET (or HEAD) outside the API
 * whose Accept header prefers HTML to JSON. Accepting any type (curl, fetch) or sending no Accept means JSON.
 */
const wantsPage = (request: FastifyRequest): boolean =>
  (request.method === 'GET' || request.method === 'HEAD') &&
  !NEVER_THE_PAGE.test(request.url) &&
  new Negotiator(request).mediaType(['application/json', 'text/html']) === 'text/html';

/**
 * Serves the built web front end at `/`. Plain Fastify routes rather than a Nest
 * controller: static files need none of the API's pipes, guards or filters.
 * Files are routed one by one (found at start-up; the build is immutable), and
 * the client-side routes (`/events/3`, `/admin`) get index.html. Anything else,
 * including a missing file, is a 404: a browser navigating there gets it as the
 * page (index.html, whose router shows "Page not found"), everyone else the API's JSON.
 */
export async function serveWebApp(app: NestFastifyApplication, config: GatewayConfig): Promise<void> {
  const root = config.WEB_ROOT || DEFAULT_WEB_ROOT;
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) {
    new Logger('WebApp').warn(`no web front end at ${root} (run \`pnpm build\`); serving the API only`);
    return;
  }
  const indexHtml = readFileSync(indexFile);
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    // Another part of the app may register @fastify/static too (API docs); only one may decorate the reply.
    decorateReply: false,
    setHeaders: (reply, path) => {
      const hashed = path.startsWith(join(root, 'assets'));
      void reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  for (const route of CLIENT_ROUTES) {
    fastify.get(route, (_request, reply) =>
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(indexHtml),
    );
  }
  // Runs after the hooks registered before it (security headers, rate limit), and only answers requests
  // bound for Nest's not-found handler, which would otherwise send its JSON 404.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 || !wantsPage(request)) return done();
    void reply.code(404).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(indexHtml);
  });
}
