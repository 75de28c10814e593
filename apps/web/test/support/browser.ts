// The set-up of the end-to-end tests: the real stack, Debian's chromium driven by playwright-core, pages that
// record what they load from elsewhere and the script errors they raise, and the steps every test takes.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '@booking/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { Stack } from '../../../api-gateway/test/support/stack.js';
import { ARTIFACTS, DESKTOP } from './page-checks.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WEB_DIST = fileURLToPath(new URL('../../dist/index.html', import.meta.url));

/** A stack and a browser; each page is its own browser context (its own storage, so its own signed-in user). */
export class BrowserHarness {
  /** Requests any page made to another site (the app loads nothing from elsewhere). */
  readonly foreignRequests: string[] = [];
  /** Uncaught script errors of any page. */
  readonly pageErrors: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    readonly stack: Stack,
    private readonly browser: Browser,
    private readonly profileDir: string,
  ) {}

  static async start(gatewayEnv: Record<string, string> = {}): Promise<BrowserHarness> {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found: install it with \`apt-get install -y chromium\``);
    if (!existsSync(WEB_DIST)) throw new Error('apps/web/dist is missing: run `pnpm build` first');
    mkdirSync(ARTIFACTS, { recursive: true });
    const stack = await Stack.start({ gatewayEnv });
    const profileDir = testTempDir('chromium');
    // launch() gives every run a fresh temporary profile of its own (Playwright refuses --user-data-dir in args).
    const browser = await chromium.launch({
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
    return new BrowserHarness(stack, browser, profileDir);
  }

  async stop(): Promise<void> {
    await Promise.all(this.contexts.map((context) => context.close().catch(() => undefined)));
    await this.browser.close();
    await this.stack.stop();
    rmSync(this.profileDir, { recursive: true, force: true });
  }

  async newPage(): Promise<Page> {
    const context = await this.browser.newContext({ viewport: DESKTOP, baseURL: this.stack.baseUrl });
    context.setDefaultTimeout(10_000);
    this.contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(this.stack.baseUrl) && !request.url().startsWith('data:'))
        this.foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => this.pageErrors.push(error.message));
    return page;
  }
}

/** Signs in as `name` (and with `token` when given), from the header's form. */
export async function signIn(page: Page, name: string, token?: string): Promise<void> {
  const change = page.getByRole('button', { name: 'Change' });
  if (await change.isVisible()) await change.click();
  await page.getByLabel('Your name').fill(name);
  if (token !== undefined) {
    await page.getByText('Access token (only if this server requires sign-in)').click();
    await page.getByLabel('Token').fill(token);
  }
  await page.getByLabel('Your name').press('Enter'); // keyboard: Enter submits
  await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(name);
}

export async function adminSignIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in as admin' }).click();
}

export const liveState = (page: Page) => page.getByTestId('live-state').textContent();
export const bookButton = (page: Page) => page.getByRole('button', { name: 'Book a seat' });
export const bookHelp = (page: Page) => page.getByTestId('book-help').textContent();

/** Presses "Book a seat" from the keyboard once it is on; the answer to this press, not a stale one. */
export async function book(page: Page): Promise<string> {
  const previous = Number(await page.getByTestId('outcome').getAttribute('data-attempts'));
  const button = bookButton(page);
  await expect.poll(() => button.isEnabled()).toBe(true);
  await button.focus();
  await page.keyboard.press('Enter'); // keyboard: the button works without a mouse
  const outcome = page.getByTestId('outcome').locator(`p[data-attempt="${previous + 1}"]`);
  return (await outcome.textContent()) ?? '';
}
