import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from './support/stack.js';

const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

describe('web front end served by the gateway', () => {
  let stack: Stack;

  beforeAll(async () => {
    if (!existsSync(`${WEB_DIST}index.html`)) throw new Error(`${WEB_DIST} is missing: run \`pnpm build\` first`);
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const get = (path: string) => fetch(stack.baseUrl + path);

  it('serves the page at / without caching it', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<div id="app"></div>');
  });

  it.each(['/events/12', '/bookings', '/admin', '/admin?x=1'])(
    'answers the client route %s with the page',
    async (path) => {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('<div id="app"></div>');
    },
  );

  it('serves the hashed assets with long-lived caching, and references only local files', async () => {
    const assets = readdirSync(`${WEB_DIST}assets`);
    const script = assets.find((name) => name.endsWith('.js'))!;
    const response = await get(`/assets/${script}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(response.headers.get('cache-control')).toContain('immutable');
    const html = await (await get('/')).text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it.each(['/api/nope', '/api', '/health/nope', '/metrics/x', '/assets/missing.js', '/favicon.ico', '/nope'])(
    'never shadows the API or missing files: %s is a JSON 404',
    async (path) => {
      const response = await get(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message: `Cannot GET ${path}`, error: 'Not Found', statusCode: 404 });
    },
  );

  it('leaves the API and health routes alone', async () => {
    expect((await get('/health/live')).status).toBe(200);
    const events = await get('/api/events');
    expect(events.status).toBe(200);
    expect(Array.isArray(await events.json())).toBe(true);
    const post = await fetch(stack.baseUrl + '/admin', { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('runs the API alone when there is no built front end', async () => {
    await stack.gateway.close();
    await stack.startGateway({ WEB_ROOT: '/nonexistent-web-root' });
    expect((await get('/')).status).toBe(404);
    expect((await get('/api/events')).status).toBe(200);
  });
});
