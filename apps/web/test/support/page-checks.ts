// Checks of what a person sees, run in the page: nothing wider than the screen, and text readable (WCAG AA).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/screenshots/', import.meta.url));
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Pixels the page is wider than the screen (0 when it fits). */
export const horizontalOverflow = (page: Page): Promise<number> =>
  page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));

/** The contrast of each visible piece of text and control against its background (WCAG AA asks for 4.5:1). */
export function contrastRatios(page: Page): Promise<{ what: string; ratio: number }[]> {
  return page.evaluate(() => {
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
    const selector = 'h1, h2, h3, a, button, .seats, .badge, label, p, td, th, code, .live-state';
    return [...document.querySelectorAll(selector)]
      .filter((element) => (element as HTMLElement).offsetParent !== null || element.closest('dialog[open]'))
      .map((element) => {
        const [l1, l2] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))].sort(
          (a, b) => b - a,
        );
        return { what: element.textContent?.trim().slice(0, 30) ?? '', ratio: (l1! + 0.05) / (l2! + 0.05) };
      });
  });
}

/**
 * Screenshots of the page as it is, at desktop and phone width (`name.png`, `name-phone.png`), checking at both
 * that nothing is wider than the screen and that all text keeps AA contrast. The page gets its size back after.
 */
export async function capture(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? DESKTOP;
  try {
    for (const [viewport, file] of [
      [DESKTOP, `${name}.png`],
      [PHONE, `${name}-phone.png`],
    ] as const) {
      await page.setViewportSize(viewport);
      expect(await horizontalOverflow(page), `${name} overflows at ${viewport.width} px`).toBe(0);
      const ratios = await contrastRatios(page);
      expect(ratios.length, `${name}: text found`).toBeGreaterThan(3);
      expect(
        ratios.filter((entry) => entry.ratio < 4.5),
        `${name} at ${viewport.width} px`,
      ).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
    }
  } finally {
    await page.setViewportSize(size);
  }
}
