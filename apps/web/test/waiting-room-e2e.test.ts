// The waiting room in a real browser (Debian's chromium driven by playwright-core), against the real stack:
// a place shown and brought forward live over server-sent events, the turn, the booking, and a sell-out
// told to those still waiting. Screenshots go to test-artifacts/screenshots/.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '@booking/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, httpRequest, Stack } from '../../api-gateway/test/support/stack.js';
import { ARTIFACTS, capture, DESKTOP } from './support/page-checks.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WEB_DIST = fileURLToPath(new URL('../dist/index.html', import.meta.url));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** People who join between Zed and Ben, so that Ben is still waiting when the event sells out. */
const OTHERS = 8;

describe('waiting room in a real browser', () => {
  vi.setConfig({ expect: { poll: { timeout: 15_000, interval: 50 } } });

  let stack: Stack;
  let browser: Browser;
  let profileDir: string;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  /** Every request a page made to the queue's API, to prove the place is pushed, not polled. */
  const queueRequests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found: install it with \`apt-get install -y chromium\``);
    if (!existsSync(WEB_DIST)) throw new Error('apps/web/dist is missing: run `pnpm build` first');
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await Stack.start({ gatewayEnv: { WAITING_ROOM_TICK_MS: '200' } });
    profileDir = testTempDir('chromium');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      env: { ...process.env, HOME: profileDir },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    await browser?.close();
    await stack?.stop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: stack.baseUrl });
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => {
      if (/\/queue(\/|$|\?)/.test(new URL(request.url()).pathname)) queueRequests.push(new URL(request.url()).pathname);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return page;
  }

  async function signIn(page: Page, name: string): Promise<void> {
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Your name').press('Enter');
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(name);
  }

  const queueState = (page: Page) => page.getByTestId('queue-status').getAttribute('data-state');

  it('joins from the event page, follows the place live, books on its turn; the last seat closes the queue for the rest', async () => {
    const eventId = await stack.db.createEvent(2, 'Sold in a waiting room');
    const opensAt = Date.now() + 6_000;
    await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: new Date(opensAt).toISOString() }, admin);
    await stack.request(
      'PUT',
      `/api/events/${eventId}/waiting-room`,
      { admissions_per_second: 1, join_opens_before_s: 3_600 },
      admin,
    );

    // Ann arrives before the opening: from the event page to the queue, where her place is drawn at random.
    const ann = await newPage();
    await ann.goto(`/events/${eventId}`);
    await signIn(ann, 'ann');
    await ann.getByTestId('waiting-room-notice').getByRole('link', { name: 'Join the queue' }).click();
    await ann.getByRole('button', { name: 'Join the queue' }).click();
    await expect.poll(() => queueState(ann)).toBe('early');
    expect(await ann.getByTestId('queue-position').textContent()).toBe('1');
    await capture(ann, 'waiting-room-early');

    // After the opening: others (through the API), then Ben, in arrival order behind her.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, opensAt - Date.now() + 50)));
    const join = (user: string) =>
      httpRequest(`${stack.baseUrl}/api/events/${eventId}/queue`, 'POST', { user_id: user });
    const zed = await join('zed');
    expect(zed.body.position).toBe(2);
    for (let i = 0; i < OTHERS; i++) await join(`other-${i}`);
    const ben = await newPage();
    await ben.goto('/');
    await signIn(ben, 'ben');
    await ben.goto(`/events/${eventId}/queue`);
    await ben.getByRole('button', { name: 'Join the queue' }).click();
    await expect.poll(() => ben.getByTestId('queue-position').textContent()).toBe(String(OTHERS + 3));
    const ahead = async () =>
      Number(/(\d+) ahead of you/.exec((await ben.getByTestId('queue-status').textContent()) ?? '')?.[1]);
    const firstSeen = await ahead();
    expect(firstSeen).toBeGreaterThan(0);
    await capture(ben, 'waiting-room-waiting');

    // Ann's turn comes by itself (pushed), and she books with it.
    await expect.poll(() => queueState(ann)).toBe('admitted');
    await capture(ann, 'waiting-room-admitted');
    await ann.getByRole('button', { name: 'Book your seat' }).click();
    await expect.poll(() => ann.getByRole('status').filter({ hasText: 'Booked!' }).count()).toBe(1);
    expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [eventId, 'ann'])).toBe(1);

    // Ben watches the people ahead of him go, live.
    await expect.poll(ahead, { timeout: 20_000 }).toBe(1);

    // Zed is let in for the last seat; Ben's turn then comes, but his page says the seat is held.
    let admission;
    do {
      admission = await httpRequest(`${stack.baseUrl}/api/events/${eventId}/queue/admission`, 'POST', {
        ticket: zed.body.ticket,
      });
    } while (admission.body.state === 'waiting' && (await new Promise((resolve) => setTimeout(resolve, 100, true))));
    expect(admission.body.state).toBe('admitted');
    await expect.poll(() => queueState(ben), { timeout: 10_000 }).toBe('seats_held');
    expect(await ben.getByTestId('queue-status').textContent()).toContain('held by someone let in before you');

    // Zed books the last seat: the queue closes, and Ben's page says so without a reload. Nobody let in was
    // refused for want of a seat.
    const booked = await httpRequest(
      `${stack.baseUrl}/api/bookings/reserve`,
      'POST',
      { event_id: eventId, user_id: 'zed' },
      { 'admission-token': admission.body.admission_token },
    );
    expect(booked.status).toBe(201);
    await expect.poll(() => queueState(ben)).toBe('closed');
    expect(await ben.getByTestId('queue-status').textContent()).toContain('sold out');
    expect(await ben.getByTestId('waitlist-link').getAttribute('href')).toBe(`/events/${eventId}`);
    await capture(ben, 'waiting-room-closed');

    // Pushed, not polled: each page joined once and opened its stream, nothing more.
    const asked = (path: string) => queueRequests.filter((request) => request === path).length;
    expect(asked(`/api/events/${eventId}/queue`)).toBe(2);
    expect(asked(`/api/events/${eventId}/queue/admission`)).toBe(0);
    expect(asked(`/api/events/${eventId}/queue/stream`)).toBeLessThanOrEqual(3);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
