// End to end in a real browser, like e2e.test.ts: the waitlist of a sold-out event as people in line see it —
// joining from the event page, places that move up without a reload, the seat booked for the first in line when
// someone cancels, and the refusals in words. Screenshots go to test-artifacts/screenshots/ (docs/web-waitlist.png
// is a copy).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessKeyOf, ADMIN_TOKEN, type Stack, tokenFor } from '../../api-gateway/test/support/stack.js';
import { bookHelp, BrowserHarness, liveState, signIn } from './support/browser.js';
import { capture } from './support/page-checks.js';

/** The panel reads a place again at least this often while in line (PLACE_REREAD_MS in src/event/waitlist-panel.tsx). */
const PLACE_REREAD_MS = 10_000;

describe('the waitlist in the web front end (real browser)', () => {
  vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 50 } } });

  let harness: BrowserHarness;
  let stack: Stack;

  beforeAll(async () => {
    harness = await BrowserHarness.start({ LIVE_COALESCE_MS: '100' });
    stack = harness.stack;
  }, 120_000);

  afterAll(async () => {
    await harness?.stop();
  });

  /** A two-seat event, sold out to ana and ben; the booking ids and their keys. */
  async function soldOutEvent(name: string) {
    const created = await stack.request(
      'POST',
      '/api/events',
      { name, total_seats: 2 },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(created.status).toBe(201);
    const eventId = created.body.id as number;
    const ana = await stack.reserve({ event_id: eventId, user_id: 'ana' });
    const ben = await stack.reserve({ event_id: eventId, user_id: 'ben' });
    expect([ana.status, ben.status]).toEqual([201, 201]);
    return { eventId, ana, ben };
  }

  /** A page signed in as `name` (with a user token when `withToken`) on the event, its live feed connected. */
  async function eventPage(eventId: number, name: string, withToken = true): Promise<Page> {
    const page = await harness.newPage();
    await page.goto('/');
    await signIn(page, name, withToken ? await tokenFor({ sub: name }) : undefined);
    await page.goto(`/events/${eventId}`);
    await expect.poll(() => liveState(page)).toBe('Live');
    return page;
  }

  const waitlistStatus = (page: Page) => page.getByTestId('waitlist-status').textContent();
  const waitlistAlert = (page: Page) => page.getByTestId('waitlist').getByRole('alert').textContent();
  const joinButton = (page: Page) => page.getByRole('button', { name: 'Join the waitlist' });
  const leaveButton = (page: Page) => page.getByRole('button', { name: 'Leave the waitlist' });
  const waiting = (eventId: number) => stack.db.count('waitlist', 'event_id = $1', [eventId]);

  it('joins from the event page, moves up live as the line changes, and books the first in line a freed seat', async () => {
    const { eventId, ana } = await soldOutEvent('Jazz night');
    const pia = await eventPage(eventId, 'pia');
    await expect
      .poll(() => waitlistStatus(pia))
      .toBe('Join the line: when a seat frees up, the first in line is booked it.');
    await joinButton(pia).click();
    await expect
      .poll(() => waitlistStatus(pia))
      .toBe('You are number 1 in line. The next seat that frees up is booked for you.');

    const quinn = await eventPage(eventId, 'quinn');
    await quinn.evaluate(() => ((window as unknown as { marker: number }).marker = 7)); // survives only without reload
    await joinButton(quinn).click();
    await expect
      .poll(() => waitlistStatus(quinn))
      .toBe('You are number 2 in line. When your turn comes, a seat is booked for you.');
    expect(await waiting(eventId)).toBe(2);
    await capture(quinn, 'event-waitlist');

    // pia leaves: no seat changes, so quinn's page learns of it when it reads its place again.
    await leaveButton(pia).click();
    await expect.poll(() => joinButton(pia).isVisible()).toBe(true);
    expect(await waitlistStatus(pia)).toBe('Join the line: when a seat frees up, the first in line is booked it.');
    expect(await waiting(eventId)).toBe(1);
    await expect
      .poll(() => waitlistStatus(quinn), { timeout: 3 * PLACE_REREAD_MS })
      .toBe('You are number 1 in line. The next seat that frees up is booked for you.');

    // pia joins again, behind quinn; then ana cancels: the seat is booked for quinn at once.
    await joinButton(pia).click();
    await expect
      .poll(() => waitlistStatus(pia))
      .toBe('You are number 2 in line. When your turn comes, a seat is booked for you.');
    expect((await stack.cancel(ana.body.id as number, accessKeyOf(ana))).status).toBe(200);
    await expect
      .poll(() => waitlistStatus(quinn))
      .toBe('You got a seat! It was booked for you. See it in My bookings.');
    expect(await quinn.getByTestId('waitlist').getByRole('button').count()).toBe(0);
    await expect.poll(() => bookHelp(quinn)).toBe('You already hold a seat for this event. See it in My bookings.');
    expect(await quinn.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    // pia moved up with the same change (the booking made for quinn is news on the live feed).
    await expect
      .poll(() => waitlistStatus(pia))
      .toBe('You are number 1 in line. The next seat that frees up is booked for you.');
    // The news stays: no later read of quinn's place (gone now) takes it away.
    expect(await waitlistStatus(quinn)).toBe('You got a seat! It was booked for you. See it in My bookings.');

    expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [eventId, 'quinn'])).toBe(1);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
    expect(await stack.db.count('waitlist', 'event_id = $1 AND user_id = $2', [eventId, 'quinn'])).toBe(0);
    expect(await waiting(eventId)).toBe(1);
  });

  it('does not offer the line to someone holding a seat, and says why when the page could not know', async () => {
    const { eventId } = await soldOutEvent('Chess open');
    // Signed in with a token: the page knows ben's booking and offers no line.
    const signedIn = await eventPage(eventId, 'ben');
    await expect.poll(() => bookHelp(signedIn)).toBe('You already hold a seat for this event. See it in My bookings.');
    expect(await signedIn.getByTestId('waitlist').count()).toBe(0);

    // By name only, in a browser that did not book: the page cannot know, and the server's 409 is put in words.
    const byName = await eventPage(eventId, 'ben', false);
    await joinButton(byName).click();
    await expect.poll(() => waitlistAlert(byName)).toBe('You have already booked a seat for this event.');
    expect(await waiting(eventId)).toBe(0);
  });

  it('shows the place of someone who joined elsewhere instead of refusing them', async () => {
    const { eventId } = await soldOutEvent('Film club');
    const page = await eventPage(eventId, 'rae');
    await expect.poll(() => joinButton(page).isVisible()).toBe(true);
    const token = await tokenFor({ sub: 'rae' });
    const elsewhere = await stack.request(
      'POST',
      `/api/events/${eventId}/waitlist`,
      { user_id: 'rae' },
      { authorization: `Bearer ${token}` },
    );
    expect(elsewhere.status).toBe(201);
    await joinButton(page).click(); // the server answers 409 ALREADY_WAITING
    await expect
      .poll(() => waitlistStatus(page))
      .toBe('You are number 1 in line. The next seat that frees up is booked for you.');
    expect(await page.getByTestId('waitlist').getByRole('alert').count()).toBe(0);
    expect(await waiting(eventId)).toBe(1);
  });

  it('loads nothing from other sites and raises no script errors', () => {
    expect(harness.foreignRequests).toEqual([]);
    expect(harness.pageErrors).toEqual([]);
  });
});
