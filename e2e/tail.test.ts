/**
 * @module tail.test
 * Live tail in Chromium against a real hub: an event published over REST shows up; then the hub restarts on the
 * same port (same broker, so history survives) while events are published: the indicator shows reconnecting with
 * the attempt number, then connected; the tail shows each offset once, and the events that left history as a gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HistoryPolicies, MemoryBroker } from '@vigil/server';
import { BrowserFixture, connected, skipReason } from './fixture.js';
import { api, startHub, type TestHub } from './hub.js';

describe('Live tail', { skip: skipReason }, () => {
  let hub: TestHub;
  const broker = new MemoryBroker({
    policies: new HistoryPolicies({ max_events: 1000, max_age_ms: 600_000 }, [{ pattern: 'e2e.small', max_events: 3 }]),
  });
  const b = new BrowserFixture();
  before(async () => {
    hub = await startHub({ metrics: { collect_interval: 0 } }, { broker });
    await b.start();
  });
  after(async () => {
    await b.stop();
    await hub.stop();
  });

  const publish = (channel: string, n: number) =>
    api(hub.url, 'POST', '/api/v1/publish', { channel, kind: 'n', data: { n } });

  test('an event published over REST shows; a restart shows reconnecting, each offset once, and a gap', async () => {
    const page = await b.page(`${hub.url}/tail?pattern=e2e.%3E`);
    await connected(page);
    const list = page.getByTestId('event-list');
    await list.waitFor();
    await page.waitForTimeout(300);
    await publish('e2e.kept', 1);
    await page
      .locator('[data-testid="event-row"][data-channel="e2e.kept"][data-offset="1"]')
      .waitFor({ timeout: 5000 });
    assert.match((await page.locator('[data-testid="event-row"]').first().textContent()) ?? '', /"n":1/);
    await publish('e2e.kept', 2);
    await publish('e2e.small', 1);
    await page.locator('[data-testid="event-row"][data-channel="e2e.small"][data-offset="1"]').waitFor();

    // Restart: while the hub is down, events keep arriving in the broker; e2e.small keeps only its last 3.
    b.problems.tolerated.push(/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/);
    const { port, dir } = hub;
    await hub.stop(true);
    await connected(page, 'reconnecting');
    assert.match((await page.getByTestId('connection').textContent()) ?? '', /Reconnecting \(attempt \d+\)/);
    for (let n = 3; n <= 4; n++) await broker.publish({ channel: 'e2e.kept', kind: 'n', data: { n } });
    for (let n = 2; n <= 8; n++) await broker.publish({ channel: 'e2e.small', kind: 'n', data: { n } });
    hub = await startHub({ metrics: { collect_interval: 0 } }, { port, dir, broker });
    await connected(page, 'connected', 30_000);
    await publish('e2e.kept', 5);
    await publish('e2e.small', 9);
    await page
      .locator('[data-testid="event-row"][data-channel="e2e.small"][data-offset="9"]')
      .waitFor({ timeout: 5000 });
    await page.locator('[data-testid="event-row"][data-channel="e2e.kept"][data-offset="5"]').waitFor();
    b.problems.tolerated.length = 0;

    const rows = await page
      .locator('[data-testid="event-row"]')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-channel')}#${e.getAttribute('data-offset')}`));
    const kept = rows.filter((r) => r.startsWith('e2e.kept')).sort();
    const small = rows.filter((r) => r.startsWith('e2e.small')).sort();
    assert.deepEqual(kept, ['e2e.kept#1', 'e2e.kept#2', 'e2e.kept#3', 'e2e.kept#4', 'e2e.kept#5'], 'each offset once');
    assert.deepEqual(small, ['e2e.small#1', 'e2e.small#6', 'e2e.small#7', 'e2e.small#8', 'e2e.small#9']);
    const gap = page.getByTestId('gap-row');
    assert.equal(await gap.count(), 1);
    assert.match((await gap.textContent()) ?? '', /e2e\.small.*history expired.*2–5/);
    b.assertClean();
  });
});
