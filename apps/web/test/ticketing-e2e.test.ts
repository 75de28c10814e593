// End to end in a real browser, like e2e.test.ts: what ticket sellers set on an event (date, venue, description,
// sales window) as people see it, the paged events list, and the organiser's tools on the admin page.
// Screenshots go to test-artifacts/screenshots/ (docs/web-event.png and docs/web-organiser.png are copies).
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, type Stack } from '../../api-gateway/test/support/stack.js';
import { adminSignIn, book, bookButton, bookHelp, BrowserHarness, liveState, signIn } from './support/browser.js';
import { capture } from './support/page-checks.js';

/** Events per page of the list (EVENTS_PAGE in src/pages/events-page.tsx; the test checks what the page asks for). */
const EVENTS_PAGE = 24;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('ticketing in the web front end (real browser)', () => {
  vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } });

  let harness: BrowserHarness;
  let stack: Stack;
  let admin: Page;

  beforeAll(async () => {
    harness = await BrowserHarness.start({ LIVE_COALESCE_MS: '100' });
    stack = harness.stack;
    admin = await harness.newPage();
    await admin.goto('/admin');
    await adminSignIn(admin, ADMIN_TOKEN);
    await admin.getByTestId('admin-sub').waitFor();
  }, 120_000);

  afterAll(async () => {
    await harness?.stop();
  });

  async function createEvent(fields: Record<string, unknown>): Promise<number> {
    const created = await stack.request('POST', '/api/events', fields, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(created.status).toBe(201);
    return created.body.id as number;
  }

  const adminCard = (id: number) => admin.locator(`[data-testid="admin-event"][data-event-id="${id}"]`);
  const salesStatus = (page: Page) => page.getByTestId('sales-status');

  it('shows date, venue and description, and counts down to the opening of sales with the button off', async () => {
    const id = await createEvent({
      name: 'Harbour concert',
      total_seats: 300,
      venue: 'Old harbour stage',
      description: 'An evening of brass and strings by the water.\nDoors open an hour before.',
      starts_at: inMs(3 * 24 * HOUR),
      // Minutes rounded up: "2 h 05 min" for the next minute.
      sales_open_at: inMs(2 * HOUR + 5 * MINUTE - 1_000),
    });
    const page = await harness.newPage();
    await page.goto('/');
    const card = page.locator(`[data-testid="event-card"][data-event-id="${id}"]`);
    expect(await card.getByTestId('venue').textContent()).toBe('Old harbour stage');
    expect(await card.getByTestId('starts-at').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await card.getByTestId('card-sales').textContent()).toMatch(/^Sales open /);

    await signIn(page, 'hana');
    await card.getByRole('link', { name: 'Harbour concert' }).click();
    await page.getByRole('heading', { name: 'Harbour concert', level: 1 }).waitFor();
    expect(await page.getByTestId('description').textContent()).toMatch(/^An evening of brass/);
    // The date in words, in the browser's locale (en-US here): weekday and month spelt out.
    expect(await page.getByTestId('starts-at').textContent()).toMatch(/^[A-Z][a-z]+day, [A-Z][a-z]+ \d+, \d{4}/);
    expect(await page.getByTestId('countdown').textContent()).toBe('Sales open in 2 h 05 min');
    expect(await page.getByRole('timer').count()).toBe(1); // read on request, not announced every second
    expect(await bookButton(page).isDisabled()).toBe(true);
    expect(await bookHelp(page)).toBe('Sales have not opened yet. This button comes on by itself when they do.');
    await capture(page, 'event-countdown');
  });

  it('turns "Book a seat" on by itself when sales open, counting the last seconds, and books', async () => {
    const id = await createEvent({ name: 'Flash sale', total_seats: 10, sales_open_at: inMs(HOUR) });
    const page = await harness.newPage();
    await page.goto('/');
    await signIn(page, 'ivan');
    await page.goto(`/events/${id}`);
    await expect.poll(() => liveState(page)).toBe('Live');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7)); // survives only without reload
    expect(await page.getByTestId('countdown').textContent()).toMatch(/^Sales open in (1 h|60 min)/);
    // The organiser brings the opening forward to a few seconds from now (the page hears of it on the live
    // feed): however long the page took to load, the last seconds are counted on it.
    const moved = await stack.request(
      'PATCH',
      `/api/events/${id}`,
      { sales_open_at: inMs(6_000) },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(moved.status).toBe(200);
    await expect.poll(() => page.getByTestId('countdown').textContent()).toMatch(/^Sales open in \d s$/);
    const first = await page.getByTestId('countdown').textContent();
    expect(first).toMatch(/^Sales open in \d s$/);
    expect(await bookButton(page).isDisabled()).toBe(true);
    // It counts: a later reading shows fewer seconds.
    await expect
      .poll(async () => Number((await page.getByTestId('countdown').textContent())?.match(/(\d+) s/)?.[1]))
      .toBeLessThan(Number(first!.match(/(\d+) s/)![1]));
    await expect.poll(() => bookButton(page).isEnabled()).toBe(true);
    expect(await page.getByTestId('countdown').count()).toBe(0);
    expect(await bookHelp(page)).toBe('Books one seat for ivan.');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    expect(await book(page)).toMatch(/^Booked!/);
    expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [id, 'ivan'])).toBe(1);
  });

  it('says so when the event has started, with the button off', async () => {
    const id = await createEvent({ name: 'Morning run', total_seats: 50, starts_at: inMs(-HOUR) });
    const page = await harness.newPage();
    await page.goto('/');
    await signIn(page, 'jo');
    await page.goto(`/events/${id}`);
    await expect.poll(() => salesStatus(page).getAttribute('data-phase')).toBe('started');
    expect(await salesStatus(page).textContent()).toMatch(/^This event started on /);
    expect(await bookButton(page).isDisabled()).toBe(true);
    expect(await bookHelp(page)).toBe('This event has started: it can no longer be booked.');
  });

  it('creates an event with its details from the admin page', async () => {
    await admin.goto('/admin');
    const form = admin.locator('form[aria-labelledby="create-heading"]');
    await form.getByLabel('Event name').fill('Poetry slam');
    await form.getByLabel('Seats').fill('40');
    await form.getByLabel('Venue').fill('Library hall');
    await form.getByLabel('Description').fill('Five minutes each.');
    await form.getByLabel('Starts at').fill('2031-06-05T19:30');
    await form.getByLabel('Sales open at').fill('2031-05-01T09:00');
    await form.getByRole('button', { name: 'Create event' }).click();
    const status = admin.getByTestId('admin-message').getByRole('status');
    await expect.poll(() => status.textContent()).toMatch(/Created “Poetry slam” with 40 seats/);
    const { rows } = await stack.db.query(
      `SELECT venue, description, starts_at, sales_open_at, sales_close_at FROM events WHERE name = 'Poetry slam'`,
    );
    // The browser's time zone is the test machine's: the times are local ones, as typed.
    expect(rows[0]).toEqual({
      venue: 'Library hall',
      description: 'Five minutes each.',
      starts_at: new Date(2031, 5, 5, 19, 30),
      sales_open_at: new Date(2031, 4, 1, 9, 0),
      sales_close_at: null,
    });
  });

  it('edits an event, refuses a capacity below the seats booked in words, closes sales and exports the bookings', async () => {
    const id = await createEvent({ name: 'Cooking class', total_seats: 6, venue: 'Kitchen 1' });
    for (const user of ['lea', 'max', 'noa']) await stack.reserve({ event_id: id, user_id: user });
    const visitor = await harness.newPage(); // watches the event page while the organiser works
    await visitor.goto('/');
    await signIn(visitor, 'olga');
    await visitor.goto(`/events/${id}`);
    await expect.poll(() => liveState(visitor)).toBe('Live');
    await expect.poll(() => bookButton(visitor).isEnabled()).toBe(true);

    await admin.goto('/admin');
    await adminCard(id).getByRole('button', { name: 'Edit Cooking class' }).click();
    const editor = admin.getByTestId('event-editor');
    expect(await admin.evaluate(() => document.activeElement?.textContent)).toBe('Edit Cooking class');
    await editor.getByLabel('Seats').fill('2');
    await editor.getByRole('button', { name: 'Save changes' }).click();
    const message = editor.getByTestId('editor-message');
    await expect
      .poll(() => message.getByRole('alert').textContent())
      .toBe(`Event ${id} has 3 seats booked; total_seats cannot be set below that.`);
    expect(await stack.db.count('events', 'id = $1 AND total_seats = 6', [id])).toBe(1);

    await editor.getByLabel('Seats').fill('4');
    await editor.getByLabel('Venue').fill('Kitchen 2');
    await editor.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => message.getByRole('status').textContent()).toBe('Saved the changes to “Cooking class”.');
    expect(await stack.db.count('events', `id = $1 AND total_seats = 4 AND venue = 'Kitchen 2'`, [id])).toBe(1);
    // The visitor's page shows the change without a reload.
    await expect.poll(() => visitor.getByTestId('venue').textContent()).toBe('Kitchen 2');
    await expect.poll(() => visitor.getByTestId('seats').textContent()).toBe('1 of 4 seats left');
    await capture(admin, 'organiser-tools');

    // The CSV: fetched with the token, handed to the browser as a download.
    await adminCard(id).getByRole('button', { name: 'Attendees of Cooking class' }).click();
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('button', { name: 'Download all as CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`event-${id}-bookings.csv`);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,event_id,user_id,created_at');
    expect(csv.slice(1).map((line) => line.split(',')[2])).toEqual(['lea', 'max', 'noa']);

    // Closing the sales asks first; Escape keeps selling.
    await adminCard(id).getByRole('button', { name: 'Edit Cooking class' }).click();
    const close = editor.getByRole('button', { name: 'Close sales now' });
    await close.click();
    const dialog = admin.getByRole('dialog', { name: 'Close the sales now?' });
    await dialog.waitFor();
    expect(await admin.evaluate(() => document.activeElement?.textContent)).toBe('Keep selling');
    await admin.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await stack.db.count('events', 'id = $1 AND sales_close_at IS NULL', [id])).toBe(1);
    await close.click();
    await dialog.getByRole('button', { name: 'Close sales' }).click();
    await expect.poll(() => message.getByRole('status').textContent()).toMatch(/^Sales closed on /);
    expect(await stack.db.count('events', 'id = $1 AND sales_close_at <= now()', [id])).toBe(1);
    expect(await close.isDisabled()).toBe(true);
    // The visitor's button goes off, saying why, without a reload.
    await expect.poll(() => bookHelp(visitor)).toBe('Sales for this event have closed.');
    expect(await bookButton(visitor).isDisabled()).toBe(true);
    expect(await salesStatus(visitor).textContent()).toMatch(/^Sales closed on /);
    await capture(visitor, 'event-sales-closed');
  });

  it('pages the events list with "Show more" and filters it', async () => {
    // Enough events for more than one page, two of them sold out.
    for (let i = 0; i < EVENTS_PAGE; i++) await createEvent({ name: `Workshop ${i + 1}`, total_seats: 1 });
    const { rows } = await stack.db.query<{ id: number }>(
      `SELECT id FROM events WHERE name IN ('Workshop 1', 'Workshop 2') ORDER BY id`,
    );
    for (const { id } of rows) expect((await stack.reserve({ event_id: id, user_id: 'kim' })).status).toBe(201);
    const total = await stack.db.count('events', 'true');
    const page = await harness.newPage();
    const listRequests: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/events') listRequests.push(url.search);
    });
    await page.goto('/');
    await expect.poll(() => page.getByTestId('event-card').count()).toBe(EVENTS_PAGE);
    await page.getByRole('button', { name: 'Show more events' }).click();
    await expect.poll(() => page.getByTestId('event-card').count()).toBe(total);
    expect(await page.getByRole('button', { name: 'Show more events' }).count()).toBe(0);
    expect(listRequests.every((search) => new URLSearchParams(search).get('limit') === String(EVENTS_PAGE))).toBe(true);

    await page.getByRole('radio', { name: 'Sold out' }).check();
    await expect.poll(() => page.getByTestId('event-card').count()).toBe(2);
    expect(await page.getByTestId('event-card').getByTestId('seats').allTextContents()).toEqual([
      'Sold out',
      'Sold out',
    ]);
    await page.getByRole('radio', { name: 'On sale now' }).check();
    // Not the sold-out ones, nor those not yet open (Harbour concert, Poetry slam), started or closed.
    await expect.poll(() => page.getByTestId('event-card').count()).toBe(total - 2 - 4);
  });

  it('loads nothing from other sites and raises no script errors', () => {
    expect(harness.foreignRequests).toEqual([]);
    expect(harness.pageErrors).toEqual([]);
  });
});
