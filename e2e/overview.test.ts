/**
 * @module overview.test
 * The Overview in Chromium against a real hub: the CPU chart gains a point every second for 5 s from the live
 * stream; a drag-selection zooms every chart (the URL takes the range and the history is drawn); a double-click
 * returns to live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrowserFixture, connected, skipReason, until } from './fixture.js';
import { startHub, type TestHub } from './hub.js';

describe('Overview', { skip: skipReason }, () => {
  let hub: TestHub;
  const b = new BrowserFixture();
  before(async () => {
    hub = await startHub();
    await b.start();
  });
  after(async () => {
    await b.stop();
    await hub.stop();
  });

  test('the CPU chart gains points every second; drag-zoom and double-click', async () => {
    const page = await b.page(hub.url);
    await connected(page);
    const cpu = page.locator('[data-testid="chart-cpu"]');
    await cpu.waitFor();
    const points = async () => Number(await cpu.getAttribute('data-points'));
    await until(async () => (await points()) >= 2, 10_000, 'the first live CPU points');
    const seen = [await points()];
    for (let i = 0; i < 5; i++) {
      await page.waitForTimeout(1000);
      seen.push(await points());
    }
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! > seen[i - 1]!, `more points each second: ${seen.join(', ')}`);

    // The hub has run for seconds only: over the last 5 minutes, its points are at the right end; select them.
    await page.getByTestId('range-5m').click();
    await until(() => new URL(page.url()).searchParams.get('range') === '5m', 5000, '5m in the URL');
    const box = (await cpu.locator('.u-over').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.8, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, y, { steps: 8 });
    await page.mouse.move(box.x + box.width - 1, y, { steps: 8 });
    await page.mouse.up();
    await until(() => new URL(page.url()).searchParams.has('from'), 5000, 'the zoom in the URL');
    const url = new URL(page.url());
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    assert.ok(to > from, `from ${from} < to ${to}`);
    await page.waitForSelector('[data-testid="absolute-range"]');
    await until(
      () => page.evaluate((k) => performance.getEntriesByName(`vigil:range-drawn:${k}`).length > 0, `${from}-${to}`),
      10_000,
      'the zoomed history drawn',
    );
    assert.ok((await points()) > 0, 'the zoomed CPU chart has points from the range API');
    // The other charts draw their history as it lands.
    for (const id of ['memory', 'load']) {
      const chart = page.locator(`[data-testid="chart-${id}"]`);
      await until(async () => Number(await chart.getAttribute('data-points')) > 0, 10_000, `${id} zoomed too`);
    }

    await cpu.locator('.u-over').dblclick();
    await until(() => !new URL(page.url()).searchParams.has('from'), 5000, 'back to live');
    assert.equal(new URL(page.url()).searchParams.get('range'), '5m', 'back to the live window it came from');
    await page.waitForSelector('[data-testid="pause"]');
    const live = await points();
    await until(async () => (await points()) > live, 5000, 'live points again');

    await page.goBack();
    await until(() => new URL(page.url()).searchParams.has('from'), 5000, 'back restores the zoom');
    b.assertClean();
  });
});
