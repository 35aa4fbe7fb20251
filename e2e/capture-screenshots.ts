/**
 * @module capture-screenshots
 * Screenshots of every view at 1440×900 in both themes, against a real hub with demo data, into
 * `docs/images/dashboard/` (PNG). Run after `npm run build`:
 *
 *   node --import tsx e2e/capture-screenshots.ts [outDir]
 *
 * Any console error or failed request on the way is printed, and makes the script exit 1.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newContext, PageProblems } from './browser.js';
import { startHub } from './hub.js';
import { seedDemo } from './seed.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../docs/images/dashboard', import.meta.url));
mkdirSync(out, { recursive: true });

// The Overview and Hub views last, so that the hub has run long enough to have drawn something.
const SHOTS: [name: string, path: string, ready: string][] = [
  ['metrics', '/explore?metric=app.checkout.latency_ms', '[data-testid="legend-table"]'],
  ['alerts', '/alerts', '[data-testid="alerts-table"]'],
  ['alert-rules', '/alerts?tab=rules', '[data-testid="rules-table"]'],
  ['incidents', '/incidents', '[data-testid="incidents-table"]'],
  ['incident', '/incidents/FIRST', '[data-testid="timeline"]'],
  ['tasks', '/tasks', '[data-testid="tasks-table"]'],
  ['tail', '/tail?pattern=orders.%3E', '[data-testid="event-list"]'],
  ['hub', '/hub', '[data-testid="hub-messages"] canvas'],
  ['overview', '/?range=5m', '[data-testid="chart-cpu"] canvas'],
];

const hub = await startHub();
const browser = await launch();
const problems = new PageProblems();
try {
  await seedDemo(hub.url);
  const incidents = (await (await fetch(`${hub.url}/api/v1/incidents`)).json()) as { incidents: { id: string }[] };
  for (const theme of ['dark', 'light'] as const) {
    const context = await newContext(browser, theme);
    const page = problems.watch(await context.newPage());
    await page.goto(hub.url);
    await page.waitForSelector('[data-testid="connection"][data-state="connected"]');
    for (const [name, path, ready] of SHOTS) {
      await page.goto(`${hub.url}${path.replace('FIRST', incidents.incidents[0]?.id ?? 'none')}`);
      await page.waitForSelector(ready, { timeout: 15_000 });
      if (name === 'tail') {
        for (let i = 1; i <= 8; i++) {
          await fetch(`${hub.url}/api/v1/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ channel: 'orders.eu', kind: 'paid', data: { id: 2000 + i, amount: 12.5 * i } }),
          });
        }
      }
      await page.waitForTimeout(name === 'overview' || name === 'hub' ? 15_000 : 1500);
      await page.screenshot({ path: join(out, `${name}-${theme}.png`) });
    }
    await context.close();
  }
} finally {
  await browser.close();
  await hub.stop();
}
if (problems.list.length > 0) {
  console.error(problems.list.join('\n'));
  process.exit(1);
}
console.log(`screenshots in ${out}`);
