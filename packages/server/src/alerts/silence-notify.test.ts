/**
 * @module silence-notify.test
 * End to end on a real hub with a real webhook receiver: a silence holds back notifications but not state — the
 * alert still fires, is published and persisted — and an unsilenced alert is delivered.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { sleep, startHub, TestClient, until } from '../testing/hub-fixture.js';
import type { Alert } from './types.js';

test('a silence suppresses notifications but not state', async () => {
  const received: { alerts: { labels: Record<string, string>; status: string }[] }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as { port: number }).port;
  const h = await startHub({
    metrics: { collect_interval: 0 },
    alerts: {
      evaluation_interval: '50ms',
      rules: [{ name: 'hot', kind: 'threshold', metric: 'temp', threshold: 50, severity: 'warning' }],
    },
    notifications: {
      webhooks: [
        { url: `http://127.0.0.1:${port}/hook`, group_by: ['room'], group_wait: '50ms', group_interval: '100ms' },
      ],
    },
  });
  const watcher = await TestClient.connect(h.wsUrl);
  await watcher.request({ op: 'subscribe', channels: ['alerts'] });
  const silence = await h.hub.app.inject({
    method: 'POST',
    url: '/api/v1/silences',
    payload: {
      matchers: [{ name: 'room', value: 'lab' }],
      ends_at: Date.now() + 60_000,
      by: 'ops',
      comment: 'calibration',
    },
  });
  assert.equal(silence.statusCode, 201);

  h.hub.metricsService.ingest([
    { name: 'temp', value: 80, labels: { room: 'lab' }, ts: Date.now() },
    { name: 'temp', value: 90, labels: { room: 'office' }, ts: Date.now() },
  ]);
  await until(() => received.length > 0, 5000, 'the office notification');
  await sleep(400);
  const notified = received.flatMap((p) => p.alerts.map((a) => a.labels.room));
  assert.deepEqual(notified, ['office'], 'only the unsilenced alert was notified');

  const lab = h.hub.alerts.activeAlerts().find((a) => a.labels.room === 'lab')!;
  assert.deepEqual([lab.status, lab.silenced], ['firing', true], 'the silenced alert still fires');
  const events = watcher.events('alerts').map((e) => e.data as Alert);
  assert.ok(
    events.some((a) => a.labels.room === 'lab' && a.status === 'firing'),
    'and is still published',
  );
  const history = await h.hub.app.inject({ url: '/api/v1/alerts?rule=hot' });
  assert.equal((history.json() as { alerts: Alert[] }).alerts.length, 2, 'and persisted');

  watcher.close();
  await h.stop();
  receiver.close();
});
