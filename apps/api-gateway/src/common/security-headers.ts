import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { DOCS_PATH } from '../docs/openapi.js';

/**
 * The JSON API's security headers: the set the nginx edge sends for `/api/`
 * (infrastructure/nginx), so that a response carries the same policy with or
 * without nginx in front. Headers that only mean something to an HTML document
 * (cross-origin opener policy, DNS prefetching, the legacy XSS filter, a
 * page's script and style sources, …) are left to the pages: on the read path
 * every header byte is paid on every response.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'geolocation=(), camera=(), microphone=()',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** The pages' headers (the web app, the API docs): helmet's, with a policy that lets them load their own scripts and styles. */
const PAGE_SECURITY_HEADERS = helmetHeaders(
  helmet({
    // Swagger UI's own script and inline styles are served from this origin.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  }),
);

const API_PREFIX = '/api/';
const DOCS_PREFIX = `/${DOCS_PATH}`;

/** Whether a request's URL is the JSON API's (the edge's `location /api/` less `location /api/docs`). */
export const isApiUrl = (url: string): boolean => url.startsWith(API_PREFIX) && !url.startsWith(DOCS_PREFIX);

/**
 * Security headers on every response, errors and refusals included. They do
 * not depend on the request beyond its path, so each set is built once (helmet
 * runs at start-up, against a response that only records them) rather than
 * running helmet's chain of a dozen middlewares per request. They go on
 * Fastify's reply, which hands them to Node in one `writeHead`; set on the raw
 * response, Node would keep a second map of every header. Responses written
 * past Fastify (the live feed's event stream) take the reply's headers with them.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(isApiUrl(request.url) ? API_SECURITY_HEADERS : PAGE_SECURITY_HEADERS);
    done();
  });
}

/** The headers a helmet middleware sets: it decides them from its options alone, and calls back at once. */
function helmetHeaders(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
    // X-Powered-By, which Fastify never sends.
    removeHeader: () => undefined,
  };
  let called = false;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    called = true;
  });
  if (!called) throw new Error('helmet did not set its headers at once');
  return headers;
}
