/**
 * @module fixture
 * One browser per test file, real hubs, and the checks every e2e test ends with: no console error, page error or
 * failed request on any page it opened. Without Chromium the file is skipped with a line saying how to install it,
 * unless `VIGIL_REQUIRE_SERVICES` is set (CI), where that is a failure.
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launch, newContext, PageProblems } from './browser.js';

export const skipReason = chromiumAvailable()
  ? undefined
  : process.env.VIGIL_REQUIRE_SERVICES
    ? undefined
    : 'Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium): browser tests skipped';

if (skipReason) console.log(`# ${skipReason}`);

export class BrowserFixture {
  browser!: Browser;
  readonly problems = new PageProblems();
  private readonly contexts: BrowserContext[] = [];

  async start(): Promise<void> {
    this.browser = await launch();
  }

  async page(
    url: string,
    theme: 'dark' | 'light' = 'dark',
    init?: (ctx: BrowserContext) => Promise<void>,
  ): Promise<Page> {
    const ctx = await newContext(this.browser, theme);
    this.contexts.push(ctx);
    if (init) await init(ctx);
    const page = this.problems.watch(await ctx.newPage());
    await page.goto(url);
    return page;
  }

  assertClean(): void {
    assert.deepEqual(this.problems.list, [], 'no console error, page error or failed request');
  }

  async stop(): Promise<void> {
    for (const c of this.contexts.splice(0)) await c.close().catch(() => {});
    await this.browser?.close();
  }
}

/** Waits until the page's connection indicator shows `state`. */
export async function connected(page: Page, state = 'connected', timeout = 15_000): Promise<void> {
  await page.waitForSelector(`[data-testid="connection"][data-state="${state}"]`, { timeout });
}

/** Polls `fn` until it returns true. */
export async function until(
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
