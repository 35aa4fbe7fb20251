/**
 * @module incidents-tasks.test
 * Incidents and tasks in Chromium against a real hub: a comment made in one context appears in another without
 * reload; a task's progress bar and ETA move as REST updates arrive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrowserFixture, connected, skipReason, until } from './fixture.js';
import { api, startHub, type TestHub } from './hub.js';

describe('Incidents and tasks', { skip: skipReason }, () => {
  let hub: TestHub;
  const b = new BrowserFixture();
  before(async () => {
    hub = await startHub({ metrics: { collect_interval: 0 } });
    await b.start();
  });
  after(async () => {
    await b.stop();
    await hub.stop();
  });

  test('a comment made in one context appears in another', async () => {
    await api(hub.url, 'POST', '/api/v1/rules', {
      name: 'DiskFull',
      kind: 'threshold',
      metric: 'e2e.disk',
      threshold: 90,
      severity: 'critical',
    });
    await api(hub.url, 'POST', '/api/v1/metrics', { name: 'e2e.disk', value: 97, labels: { host: 'db1' } });
    let id = '';
    await until(
      async () => {
        const { incidents } = await api<{ incidents: { id: string }[] }>(hub.url, 'GET', '/api/v1/incidents');
        id = incidents[0]?.id ?? '';
        return id !== '';
      },
      5000,
      'an incident',
    );
    const list = await b.page(`${hub.url}/incidents`);
    await connected(list);
    await list.locator(`[data-incident-id="${id}"] a`).click();
    await list.getByTestId('timeline').waitFor();
    const watcher = await b.page(`${hub.url}/incidents/${id}`);
    await connected(watcher);
    await watcher.getByTestId('timeline').waitFor();

    await list.getByTestId('comment-input').fill('Failing over to the replica.');
    await list.getByTestId('comment-submit').click();
    await watcher
      .getByTestId('comments')
      .filter({ hasText: 'Failing over to the replica.' })
      .waitFor({ timeout: 5000 });
    await watcher.getByTestId('timeline').filter({ hasText: 'Failing over to the replica.' }).waitFor();
    const incident = await api<{ comments: { text: string; by: string }[] }>(hub.url, 'GET', `/api/v1/incidents/${id}`);
    assert.deepEqual(
      incident.comments.map((c) => [c.by, c.text]),
      [['dashboard', 'Failing over to the replica.']],
    );

    await list.getByTestId('incident-ack').click();
    await watcher.locator('.facts .status-acknowledged').waitFor({ timeout: 5000 });
    b.assertClean();
  });

  test("a task's progress bar and ETA move as REST updates arrive", async () => {
    const task = await api<{ id: string }>(hub.url, 'POST', '/api/v1/tasks', { name: 'e2e-reindex', total: 1000 });
    const page = await b.page(`${hub.url}/tasks`);
    await connected(page);
    const row = page.locator(`[data-task-id="${task.id}"]`);
    await row.waitFor();
    const bar = row.getByTestId('progress');
    const eta = row.getByTestId('eta');
    const now = async () => [Number(await bar.getAttribute('aria-valuenow')), (await eta.textContent()) ?? ''] as const;

    await api(hub.url, 'PATCH', `/api/v1/tasks/${task.id}`, { processed: 100 });
    await until(async () => (await now())[0] === 10, 5000, 'progress 10%');
    await new Promise((r) => setTimeout(r, 1000));
    await api(hub.url, 'PATCH', `/api/v1/tasks/${task.id}`, { processed: 300 });
    await until(async () => (await now())[0] === 30, 5000, 'progress 30%');
    const [, etaA] = await now();
    assert.match(etaA, /\d+s|\d+m/, `an ETA is shown (${etaA})`);
    await until(async () => (await now())[1] !== etaA, 5000, 'the ETA ticks between updates');
    await api(hub.url, 'PATCH', `/api/v1/tasks/${task.id}`, { processed: 1000, status: 'succeeded' });
    await until(async () => (await now())[0] === 100, 5000, 'progress 100%');
    b.assertClean();
  });
});
