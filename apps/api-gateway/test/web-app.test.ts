import { existsSync, readdirSync } from 'node:fs';
import { request as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from './support/stack.js';

const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
/** What Chromium sends when it navigates to a page. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';

describe('web front end served by the gateway', () => {
  let stack: Stack;

  beforeAll(async () => {
    if (!existsSync(`${WEB_DIST}index.html`)) throw new Error(`${WEB_DIST} is missing: run \`pnpm build\` first`);
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(stack.baseUrl + path, { headers });

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

  it.each(['/does/not/exist.html', '/nope', '/events', '/events/3/seats', '/admin/x', '/assets/missing.js', '/a?b=1'])(
    'answers a browser navigating to the unknown page %s with the app and a 404',
    async (path) => {
      const response = await get(path, { accept: BROWSER_ACCEPT });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      // The page's own policy, so that its script runs and shows "Page not found".
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await response.text()).toContain('<div id="app"></div>');
    },
  );

  it('answers HEAD for an unknown page as it would GET, without a body', async () => {
    const response = await fetch(stack.baseUrl + '/nope', { method: 'HEAD', headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe('');
  });

  it.each([
    ['/api/nope', BROWSER_ACCEPT],
    ['/api', BROWSER_ACCEPT],
    ['/api?x=1', BROWSER_ACCEPT],
    ['/api/docs/nope', BROWSER_ACCEPT],
    ['/health/nope', BROWSER_ACCEPT],
    ['/metrics/x', BROWSER_ACCEPT],
    ['/nope', 'application/json'],
    ['/nope', '*/*'],
    ['/nope', 'text/html;q=0, application/json'],
    ['/nope', 'image/avif,image/webp,*/*;q=0.8'],
  ])('keeps the JSON 404 for an API client: %s with Accept %s', async (path, accept) => {
    const response = await get(path, { accept });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ message: `Cannot GET ${path}`, error: 'Not Found', statusCode: 404 });
  });

  it('keeps the JSON 404 for a request without Accept and for other methods', async () => {
    const bare = await new Promise<{ status: number; type: string }>((resolve, reject) => {
      // Node's http client sends no Accept unless told to (fetch always sends one).
      const request = httpGet(stack.baseUrl + '/nope', { timeout: 5_000 }, (response) => {
        response.resume();
        resolve({ status: response.statusCode!, type: String(response.headers['content-type']) });
      });
      request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
      request.on('error', reject);
      request.end();
    });
    expect(bare).toEqual({ status: 404, type: expect.stringMatching(/^application\/json/) });
    const post = await fetch(stack.baseUrl + '/nope', { method: 'POST', headers: { accept: BROWSER_ACCEPT } });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ message: 'Cannot POST /nope' });
  });

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
    const unknown = await get('/nope', { accept: BROWSER_ACCEPT });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ statusCode: 404 });
    expect((await get('/api/events')).status).toBe(200);
  });
});
