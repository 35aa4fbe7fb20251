/**
 * @module stall-alert.test
 * A stalled task raises a real `task_stalled` alert through the hub's alert engine (published on `alerts`, and
 * opening an incident), and its next report resolves it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../alerts/types.js';
import { startHub } from '../testing/hub-fixture.js';

test('a task that stops reporting raises task_stalled, and resolves it when it reports again', async () => {
  const clock = { t: Date.UTC(2026, 0, 1) };
  const h = await startHub(
    {
      metrics: { collect_interval: 0 },
      tasks: { stall_after: '1m', check_interval: '1h' },
      incidents: { group_by: ['alertname'] },
    },
    { clock: () => clock.t },
  );
  const created = await h.hub.app.inject({
    method: 'POST',
    url: '/api/v1/tasks',
    payload: { name: 'reindex', total: 100 },
  });
  const task = created.json() as { id: string };
  clock.t += 61_000;
  await h.hub.tasks.check();
  const alert = h.hub.alerts.activeAlerts().find((a: Alert) => a.rule === 'task_stalled');
  assert.ok(alert, 'the alert fired');
  assert.equal(alert.labels.task_id, task.id);
  assert.equal(alert.source, 'external');
  const incidents = (await h.hub.app.inject({ url: '/api/v1/incidents' })).json() as {
    incidents: { status: string }[];
  };
  assert.equal(incidents.incidents[0]?.status, 'open', 'and opened an incident');
  await h.hub.app.inject({ method: 'PATCH', url: `/api/v1/tasks/${task.id}`, payload: { processed: 10 } });
  assert.equal(h.hub.alerts.activeAlerts().filter((a: Alert) => a.rule === 'task_stalled').length, 0, 'resolved');
  await h.stop();
});
