import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatewayConfig } from '../config.js';

/** apps/web/dist, the same relative path from src/web (tests) and dist/web (built). */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Paths that belong to the API and operations: never answered with the page. */
const NOT_THE_PAGE = /^\/(api|health|metrics)(\/|$)|\.[a-z0-9]+$/i;

/**
 * Serves the built web front end at `/`. Plain Fastify routes rather than a Nest
 * controller: static files need none of the API's pipes, guards or filters.
 * Files are routed one by one (found at start-up; the build is immutable), and
 * any other GET that is a client-side route (`/events/3`, `/admin`) gets
 * index.html. Everything under /api, /health and /metrics, and any missing file,
 * falls through to the normal 404.
 */
export async function serveWebApp(app: NestFastifyApplication, config: GatewayConfig): Promise<void> {
  const root = config.WEB_ROOT ?? DEFAULT_WEB_ROOT;
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
  app
    .getHttpAdapter()
    .getInstance()
    .get('/*', (request, reply) => {
      const path = request.url.split('?')[0]!;
      if (NOT_THE_PAGE.test(path)) return reply.callNotFound();
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(indexHtml);
    });
}
