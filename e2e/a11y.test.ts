/**
 * @module a11y.test
 * axe-core (through @axe-core/playwright) on every view, in both themes, against a hub with demo data: no serious
 * or critical violation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import { BrowserFixture, connected, skipReason } from './fixture.js';
import { api, startHub, type TestHub } from './hub.js';
import { seedDemo } from './seed.js';

const VIEWS: [string, string][] = [
  ['overview', '/'],
  ['fleet', '/fleet'],
  ['fleet-host', '/fleet/SELF_HOST'],
  ['metrics', '/explore?metric=app.checkout.latency_ms'],
  ['alerts', '/alerts'],
  ['silenced', '/alerts?tab=silenced'],
  ['resolved', '/alerts?tab=history'],
  ['rules', '/alerts?tab=rules'],
  ['incidents', '/incidents'],
  ['incident', '/incidents/FIRST'],
  ['tasks', '/tasks'],
  ['task', '/tasks/FIRST_TASK'],
  ['tail', '/tail?pattern=orders.%3E'],
  ['hub', '/hub'],
];

describe('Accessibility', { skip: skipReason }, () => {
  let hub: TestHub;
  const b = new BrowserFixture();
  before(async () => {
    hub = await startHub();
    await b.start();
    await seedDemo(hub.url);
  });
  after(async () => {
    await b.stop();
    await hub.stop();
  });

  for (const theme of ['dark', 'light'] as const) {
    test(`no serious or critical violation on any view, ${theme} theme`, async () => {
      const { incidents } = await api<{ incidents: { id: string }[] }>(hub.url, 'GET', '/api/v1/incidents');
      const { tasks } = await api<{ tasks: { id: string }[] }>(hub.url, 'GET', '/api/v1/tasks');
      const { hosts } = await api<{ hosts: { id: string }[] }>(hub.url, 'GET', '/api/v1/hosts');
      const page = await b.page(hub.url, theme);
      await connected(page);
      const found: string[] = [];
      const minor: string[] = [];
      for (const [name, path] of VIEWS) {
        const url = path
          .replace('SELF_HOST', hosts[0]!.id)
          .replace('FIRST_TASK', tasks[0]!.id)
          .replace('FIRST', incidents[0]!.id);
        await page.goto(`${hub.url}${url}`);
        await connected(page);
        await page.waitForTimeout(1200);
        const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
        assert.ok(result.passes.length > 10, `axe checked ${name} (${result.passes.length} rules passed)`);
        minor.push(
          ...result.violations
            .filter((v) => v.impact !== 'serious' && v.impact !== 'critical')
            .map((v) => `${name}: ${v.id}`),
        );
        for (const v of result.violations) {
          if (v.impact === 'serious' || v.impact === 'critical') {
            found.push(
              `${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes
                .map((n) => n.target.join(' '))
                .slice(0, 3)
                .join(' | ')}`,
            );
          }
        }
      }
      if (minor.length > 0) console.log(`# axe, minor and moderate (${theme}): ${[...new Set(minor)].join(', ')}`);
      assert.deepEqual(found, []);
      b.assertClean();
    });
  }
});
