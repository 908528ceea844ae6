/** Debian's Chromium through playwright-core (never a downloaded browser), for pages the node writes. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function requireChromium(context: Mocha.Context): void {
  if (!existsSync(CHROMIUM)) {
    console.log(`      skipped: ${CHROMIUM} not found (apt-get install chromium)`);
    context.skip();
  }
}

/** Open a local HTML file in a fresh headless profile, run `check`, close. */
export async function withPage<T>(file: string, check: (page: Page) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'ctmn-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const result = await check(page);
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    return result;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Rows of a table and how many of its images decoded (the script is a string: tests compile without DOM types). */
export async function tableState(page: Page, tableId: string): Promise<{ rows: number; images: number; loaded: number }> {
  return page.evaluate<{ rows: number; images: number; loaded: number }>(`(async () => {
    const table = document.getElementById(${JSON.stringify(tableId)});
    const images = [...table.querySelectorAll('img')];
    // Thumbnails load lazily; load them all now so a missing file shows.
    await Promise.all(images.map((i) => ((i.loading = 'eager'), i.decode().catch(() => undefined))));
    return { rows: table.tBodies[0].rows.length, images: images.length, loaded: images.filter((i) => i.complete && i.naturalWidth > 0).length };
  })()`);
}

/** The sort keys of one column of a table, top to bottom. */
export async function columnKeys(page: Page, tableId: string, column: number): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.getElementById(${JSON.stringify(tableId)}).tBodies[0].rows].map((tr) => tr.cells[${column}].dataset.sort)`);
}
