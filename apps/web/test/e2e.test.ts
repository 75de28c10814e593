// End to end in a real browser (Debian's chromium driven by playwright-core): the
// built front end, served by the gateway, against the real stack (PostgreSQL, NATS,
// booking service). Screenshots of the main pages go to test-artifacts/screenshots/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, Stack, tokenFor } from '../../api-gateway/test/support/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));
const WEB_DIST = fileURLToPath(new URL('../dist/index.html', import.meta.url));
/** The feature's promise: other pages see the change within a second. */
const LIVE_WITHIN_MS = 1_000;

describe('web front end in a real browser', () => {
  // A browser on a shared, busy machine: waiting for the page gets more than expect.poll's default second.
  // The one-second promise of the live feed is measured separately (timeUntil).
  vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } });

  let stack: Stack;
  let browser: Browser;
  let profileDir: string;
  const contexts: BrowserContext[] = [];
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  let eventId = 0;
  let alice: Page; // books first, then watches
  let bob: Page; // watches the list, books the last seat, cancels

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found: install it with \`apt-get install -y chromium\``);
    if (!existsSync(WEB_DIST)) throw new Error('apps/web/dist is missing: run `pnpm build` first');
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await Stack.start({ gatewayEnv: { LIVE_COALESCE_MS: '100' } });
    profileDir = mkdtempSync(join(tmpdir(), 'e2e-chromium-'));
    // launch() gives every run a fresh temporary profile of its own (Playwright refuses --user-data-dir in args).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      env: { ...process.env, HOME: profileDir },
    });
    [alice, bob] = await Promise.all([newPage(), newPage()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    await browser?.close();
    await stack?.stop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  /** Each page is its own browser context: its own storage, so its own signed-in user. */
  async function newPage(viewport = { width: 1100, height: 760 }): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: stack.baseUrl });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(stack.baseUrl) && !request.url().startsWith('data:'))
        foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return page;
  }

  async function signIn(page: Page, name: string): Promise<void> {
    const change = page.getByRole('button', { name: 'Change' });
    if (await change.isVisible()) await change.click();
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Your name').press('Enter'); // keyboard: Enter submits
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(name);
  }

  const eventCard = (page: Page) => page.locator(`[data-testid="event-card"][data-event-id="${eventId}"]`);
  const liveState = (page: Page) => page.getByTestId('live-state').textContent();

  async function book(page: Page): Promise<string> {
    const previous = Number(await page.getByTestId('outcome').getAttribute('data-attempts'));
    const button = page.getByRole('button', { name: 'Book a seat' });
    await button.focus();
    await page.keyboard.press('Enter'); // keyboard: the button works without a mouse
    // The answer to this click, not a stale one from before it.
    const outcome = page.getByTestId('outcome').locator(`p[data-attempt="${previous + 1}"]`);
    return (await outcome.textContent()) ?? '';
  }

  /** Waits until `locator`'s text contains `text`; returns how long it took. */
  async function timeUntil(page: Page, selector: string, text: string, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await page.waitForFunction(
      ([css, expected]) => document.querySelector(css!)?.textContent?.includes(expected!) ?? false,
      [selector, text],
      { timeout: timeoutMs, polling: 'raf' },
    );
    return Date.now() - started;
  }

  it('creates an event as admin', async () => {
    await alice.goto('/admin');
    await alice.getByLabel('Admin token').fill('wrong-token-but-long-enough');
    await alice.getByRole('button', { name: 'Sign in as admin' }).click();
    await alice.getByLabel('Event name').fill('Launch party');
    await alice.getByLabel('Seats').fill('2');
    await alice.getByRole('button', { name: 'Create event' }).click();
    await expect
      .poll(() => alice.getByRole('alert').textContent())
      .toMatch(/token is missing, expired or not accepted/);

    await alice.getByRole('button', { name: 'Sign out' }).click();
    await alice.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await alice.getByRole('button', { name: 'Sign in as admin' }).click();
    await alice.getByLabel('Event name').fill('Launch party');
    await alice.getByLabel('Seats').fill('2');
    await alice.getByRole('button', { name: 'Create event' }).click();
    const status = alice.getByTestId('admin-message').getByRole('status');
    await expect.poll(() => status.textContent()).toMatch(/Created “Launch party” with 2 seats/);
    eventId = Number((await status.getByRole('link').getAttribute('href'))!.split('/').pop());
    expect(await stack.db.count('events', 'id = $1 AND total_seats = 2', [eventId])).toBe(1);
    await alice.screenshot({ path: join(ARTIFACTS, 'admin.png') });
  });

  it('books on one page and the other page sees seats left drop without a reload', async () => {
    await bob.goto('/');
    await expect.poll(() => liveState(bob)).toBe('Live');
    await expect.poll(() => eventCard(bob).getByTestId('seats').textContent()).toBe('2 of 2 seats left');
    await bob.evaluate(() => ((window as unknown as { marker: number }).marker = 42)); // survives only without reload

    await signIn(alice, 'alice');
    await alice.goto(`/events/${eventId}`);
    await expect.poll(() => alice.getByRole('heading', { level: 1 }).textContent()).toBe('Launch party');
    expect(await book(alice)).toMatch(/Booked! Your seat is reserved/);
    const tookMs = await timeUntil(
      bob,
      `[data-event-id="${eventId}"] [data-testid="seats"]`,
      '1 of 2 seats left',
      5_000,
    );
    console.log(`e2e: seats left changed on the other page ${tookMs} ms after the booking`);
    expect(tookMs).toBeLessThan(LIVE_WITHIN_MS);
    expect(await bob.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    await bob.screenshot({ path: join(ARTIFACTS, 'events.png') });
  });

  it('books the last seat, shows sold out everywhere, and says so in plain words', async () => {
    await signIn(bob, 'bob');
    await bob.getByRole('link', { name: 'Launch party' }).click(); // client-side navigation
    expect(await book(bob)).toMatch(/Booked!/);
    await expect.poll(() => bob.getByTestId('seats').textContent()).toBe('Sold out');
    // alice's event page updates live too
    await timeUntil(alice, '[data-testid="seats"]', 'Sold out', 5_000);
    await bob.screenshot({ path: join(ARTIFACTS, 'event-sold-out.png') });

    expect(await book(bob)).toBe('You have already booked a seat for this event.');
    await signIn(alice, 'carol');
    expect(await book(alice)).toBe('Sorry, this event is sold out.');
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
  });

  it('fits a phone-sized screen', async () => {
    const phone = await newPage({ width: 375, height: 740 });
    await phone.goto('/');
    await eventCard(phone).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: join(ARTIFACTS, 'events-phone.png'), fullPage: true });
  });

  it('keeps text and controls readable (WCAG AA contrast)', async () => {
    await bob.goto('/');
    await eventCard(bob).waitFor();
    const ratios = await bob.evaluate(() => {
      const rgb = (value: string) =>
        value
          .match(/[\d.]+/g)!
          .slice(0, 4)
          .map(Number);
      const background = (element: Element | null): number[] => {
        for (let node = element; node; node = node.parentElement) {
          const [r, g, b, a = 1] = rgb(getComputedStyle(node).backgroundColor);
          if (a > 0) return [r!, g!, b!];
        }
        return [255, 255, 255];
      };
      const luminance = (channels: number[]) => {
        const [r, g, b] = channels.map((c) =>
          c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4,
        );
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      return [...document.querySelectorAll('h1, a, button, .seats, label, p, .live-state')].map((element) => {
        const [l1, l2] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))].sort(
          (a, b) => b - a,
        );
        return { what: element.textContent?.trim().slice(0, 30), ratio: (l1! + 0.05) / (l2! + 0.05) };
      });
    });
    expect(ratios.length).toBeGreaterThan(5);
    expect(ratios.filter((entry) => entry.ratio < 4.5)).toEqual([]);
  });

  it("never shows someone else's bookings because their name was typed", async () => {
    // bob holds a seat, booked in his own browser; another browser types his name.
    expect(await stack.db.count('bookings', "event_id = $1 AND user_id = 'bob'", [eventId])).toBe(1);
    const stranger = await newPage();
    const bookingRequests: string[] = [];
    stranger.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/bookings')) bookingRequests.push(request.url());
    });
    await stranger.goto('/');
    await signIn(stranger, 'bob');
    await stranger.getByRole('link', { name: 'My bookings' }).click();
    await stranger.getByText('You have no bookings.').waitFor();
    expect(await stranger.getByTestId('booking').count()).toBe(0);
    expect(bookingRequests).toEqual([]); // nothing is asked for by name
  });

  it('cancels a booking and the seat comes back on the other page', async () => {
    await bob.getByRole('link', { name: 'My bookings' }).click();
    const booking = bob.locator(`[data-testid="booking"][data-event-id="${eventId}"]`);
    await booking.waitFor();
    await bob.screenshot({ path: join(ARTIFACTS, 'bookings.png') });
    await alice.goto('/');
    await expect.poll(() => eventCard(alice).getByTestId('seats').textContent()).toBe('Sold out');
    await booking.getByRole('button', { name: 'Cancel booking for Launch party' }).click();
    await expect.poll(() => bob.getByTestId('bookings-message').textContent()).toMatch(/Cancelled your booking/);
    const tookMs = await timeUntil(
      alice,
      `[data-event-id="${eventId}"] [data-testid="seats"]`,
      '1 of 2 seats left',
      5_000,
    );
    expect(tookMs).toBeLessThan(LIVE_WITHIN_MS);
    await expect.poll(() => booking.count()).toBe(0);
    expect(await stack.db.count('bookings', "event_id = $1 AND user_id = 'bob'", [eventId])).toBe(0);
  });

  it('shows my bookings, loads nothing from other sites and raises no script errors', async () => {
    await bob.goto('/bookings');
    await bob.getByRole('heading', { name: 'My bookings' }).waitFor();
    await bob.screenshot({ path: join(ARTIFACTS, 'bookings-after-cancel.png') });
    // An overview with a few events, for the README (docs/web-events.png is a copy of it).
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const [name, seats, booked] of [
      ['Jazz night', 120, 37],
      ['Team offsite', 3, 3],
    ] as const) {
      const created = await stack.request('POST', '/api/events', { name, total_seats: seats }, admin);
      for (let i = 0; i < booked; i++) await stack.reserve({ event_id: created.body.id, user_id: `guest-${i}` });
    }
    await bob.goto('/');
    await expect.poll(() => bob.getByTestId('event-card').count()).toBe(3);
    await bob.screenshot({ path: join(ARTIFACTS, 'overview.png') });
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('catches up after the live stream was cut (gateway restart)', async () => {
    await bob.goto('/');
    await expect.poll(() => liveState(bob)).toBe('Live');
    const jazz = bob.getByTestId('event-card').filter({ hasText: 'Jazz night' });
    expect(await jazz.getByTestId('seats').textContent()).toBe('83 of 120 seats left');
    const port = new URL(stack.baseUrl).port;
    await stack.gateway.close();
    await expect.poll(() => liveState(bob)).not.toBe('Live');
    // A change while the page was not listening, announced to nobody.
    await stack.db.query(
      `INSERT INTO bookings (event_id, user_id) SELECT id, 'while-away' FROM events WHERE name = 'Jazz night'`,
    );
    await stack.startGateway({ PORT: port, LIVE_COALESCE_MS: '100' });
    await expect.poll(() => liveState(bob), { timeout: 15_000 }).toBe('Live');
    await expect.poll(() => jazz.getByTestId('seats').textContent()).toBe('82 of 120 seats left');
  });

  it('says so in plain words when the booking service is down', async () => {
    await bob.getByRole('link', { name: 'Jazz night' }).click();
    await bob.getByRole('heading', { name: 'Jazz night' }).waitFor();
    await stack.stopReplicas();
    expect(await book(bob)).toBe('The booking system is busy or briefly unavailable. Please try again in a moment.');
  });

  it('with AUTH_MODE=required, books with the token given at sign-in and asks for one otherwise', async () => {
    await stack.startInProcessReplica();
    const port = new URL(stack.baseUrl).port;
    await stack.gateway.close();
    await stack.startGateway({ PORT: port, AUTH_MODE: 'required' });
    const { rows } = await stack.db.query(`SELECT id FROM events WHERE name = 'Jazz night'`);
    const dave = await newPage();
    await dave.goto(`/events/${rows[0].id}`);
    await expect.poll(() => liveState(dave)).toBe('Live'); // the live stream stays public
    await signIn(dave, 'dave');
    expect(await book(dave)).toBe('Sign-in needed: your token is missing, expired or not accepted.');

    await dave.getByRole('button', { name: 'Change' }).click();
    await dave.getByText('Access token (only if this server requires sign-in)').click();
    await dave.getByLabel('Token').fill(await tokenFor({ sub: 'dave' }));
    await dave.getByRole('button', { name: 'Sign in' }).click();
    expect(await book(dave)).toMatch(/Booked!/);
    await dave.getByRole('link', { name: 'My bookings' }).click();
    await dave.locator(`[data-testid="booking"][data-event-id="${rows[0].id}"]`).waitFor();
    expect(await stack.db.count('bookings', "user_id = 'dave'")).toBe(1);
  });
});
