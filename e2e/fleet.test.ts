/**
 * @module fleet.test
 * The Fleet view in Chromium against a real hub fed by three real `vigil agent` processes: the three hosts are
 * listed up with their figures, the label filter and sorting work, the topology draws each agent; SIGKILL of one
 * agent turns its row and its topology mark `down` live; the drill-down of a host draws its own charts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BrowserFixture, connected, skipReason, until } from './fixture.js';
import { startHub, type TestHub } from './hub.js';

const CLI_MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const SHOTS = process.env.VIGIL_E2E_SHOTS;

describe('Fleet', { skip: skipReason }, () => {
  let hub: TestHub;
  const b = new BrowserFixture();
  const agents = new Map<string, ChildProcess>();
  const dirs: string[] = [];

  function agent(id: string, labels: string): ChildProcess {
    const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-agent-${id}-`));
    dirs.push(dir);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI_MAIN, 'agent', '--hub', hub.url, '--host-id', id, '--labels', labels],
      {
        env: {
          ...process.env,
          VIGIL_AGENT_INTERVAL: '500ms',
          VIGIL_AGENT_HEARTBEAT: '300ms',
          VIGIL_AGENT_BUFFER_DIR: dir,
        },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    agents.set(id, child);
    return child;
  }

  before(async () => {
    hub = await startHub({
      metrics: { collect_interval: 0 },
      fleet: {
        self: false,
        stale_after: '1500ms',
        down_after: '3s',
        check_interval: '100ms',
        summary_interval: '500ms',
      },
    });
    agent('e2e-a', 'role=web,dc=eu');
    agent('e2e-b', 'role=db,dc=eu');
    agent('e2e-c', 'role=web,dc=us');
    await b.start();
  });
  after(async () => {
    for (const c of agents.values()) c.kill('SIGKILL');
    await b.stop();
    await hub.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('three hosts live, filtered and sorted; one goes down; the drill-down draws its charts', async () => {
    await until(
      () => hub.hub.fleet.list().filter((h) => h.status === 'up' && h.summary?.cpu_percent != null).length === 3,
      60_000,
      'three agents reporting',
    );
    const page = await b.page(`${hub.url}/fleet`);
    await connected(page);
    const rows = page.locator('[data-testid="hosts-table"] tbody tr');
    await until(async () => (await rows.count()) === 3, 15_000, 'three rows');
    for (const id of ['e2e-a', 'e2e-b', 'e2e-c']) {
      const row = page.locator(`tr[data-host-id="${id}"]`);
      assert.equal((await row.getByTestId('host-status').textContent())?.trim(), 'up', id);
      const cpu = await row.locator('td.num').first().textContent();
      assert.match(cpu ?? '', /%/, `${id} shows its CPU`);
    }
    await page.getByTestId('fleet-filter').fill('role=web');
    await until(async () => (await rows.count()) === 2, 15_000, 'the filter');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-host-id'))), [
      'e2e-a',
      'e2e-c',
    ]);
    await page.getByTestId('fleet-filter').fill('');
    await page.getByTestId('sort-cpu').click();
    assert.equal(await page.locator('th[aria-sort="descending"]').count(), 1);
    await page.locator('[data-testid="topology"] [data-agent]').nth(2).waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'fleet-up.png'), fullPage: true });

    agents.get('e2e-b')!.kill('SIGKILL');
    await page
      .locator('tr[data-host-id="e2e-b"] [data-testid="host-status"]')
      .filter({ hasText: 'down' })
      .waitFor({ timeout: 30_000 });
    await page
      .locator('[data-testid="topology"] [data-agent="e2e-b"][data-status="down"]')
      .waitFor({ timeout: 30_000 });
    assert.equal(
      (await page.locator('tr[data-host-id="e2e-a"] [data-testid="host-status"]').textContent())?.trim(),
      'up',
    );
    await page.getByTestId('fleet-counts').filter({ hasText: '1 down' }).waitFor();
    if (SHOTS) {
      await page.screenshot({ path: join(SHOTS, 'fleet-down.png'), fullPage: true });
      // The same view in the light theme, for docs/images/dashboard/fleet-light.png.
      const light = await b.page(`${hub.url}/fleet`, 'light');
      await connected(light);
      await light.locator('[data-testid="hosts-table"] tbody tr').nth(2).waitFor();
      await light.locator('[data-testid="topology"] [data-agent="e2e-b"][data-status="down"]').waitFor();
      await light.screenshot({ path: join(SHOTS, 'fleet-light.png'), fullPage: true });
      await light.close();
    }

    await page.locator('tr[data-host-id="e2e-a"] th a').click();
    await page.getByTestId('host-facts').waitFor();
    await page.getByTestId('chart-cpu').waitFor({ timeout: 30_000 });
    await page.getByTestId('chart-memory').waitFor({ timeout: 30_000 });
    // The charts are drawn from this host's own series (labelled host=e2e-a), live.
    await until(
      async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points')) > 1,
      15_000,
      'points on the CPU chart',
    );
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'fleet-host.png'), fullPage: true });
    b.assertClean();
  });
});
