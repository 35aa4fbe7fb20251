/**
 * @module browser
 * Browser support for the e2e tests, the screenshots and the dashboard bench: Debian's Chromium through
 * playwright-core (never a downloaded browser), with the flags the project's machines need, and a page watcher
 * that collects every console error, page error and failed or refused request, so that a test can assert there
 * were none.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export const VIEWPORT = { width: 1440, height: 900 };

export function newContext(browser: Browser, theme: 'dark' | 'light' = 'dark'): Promise<BrowserContext> {
  return browser.newContext({ viewport: VIEWPORT, colorScheme: theme });
}

/** Everything a page reported as wrong: console errors, uncaught errors, failed requests and HTTP errors. */
export class PageProblems {
  readonly list: string[] = [];
  /** Answers a test expects (a 401 for a wrong key, say), as `path status`: not counted as problems. */
  readonly allowed = new Set<string>();
  /** Messages expected for a while (connection refused while a test restarts the hub). */
  readonly tolerated: RegExp[] = [];

  private push(text: string): void {
    if (!this.tolerated.some((re) => re.test(text))) this.list.push(text);
  }

  private isAllowed(url: string, status: number): boolean {
    try {
      return this.allowed.has(`${new URL(url).pathname} ${status}`);
    } catch {
      return false;
    }
  }

  watch(page: Page): Page {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      const refused = /status of (\d+)/.exec(text);
      if (refused && this.isAllowed(m.location().url, Number(refused[1]))) return;
      this.push(`console: ${text} (${m.location().url})`);
    });
    page.on('pageerror', (e) => this.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      const failure = r.failure()?.errorText ?? '';
      // Requests the page itself cancels (a view left before its fetch returned) are not failures of the hub.
      if (failure === 'net::ERR_ABORTED') return;
      this.push(`request failed: ${r.method()} ${r.url()} ${failure}`);
    });
    page.on('response', (r) => {
      if (r.status() < 400 || this.isAllowed(r.url(), r.status())) return;
      this.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
    return page;
  }
}
