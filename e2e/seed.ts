/**
 * @module seed
 * Demo data for screenshots and the bench: application metrics with a spike, rules that fire (critical and
 * warning), an incident with an assignee and comments, tasks running, stalled and finished, and a few events on an
 * application channel.
 */
import { api } from './hub.js';

export async function seedDemo(base: string): Promise<void> {
  const now = Date.now();
  const samples: { name: string; value: number; labels: Record<string, string>; ts: number }[] = [];
  for (let i = 600; i >= 1; i--) {
    const ts = now - i * 1000;
    const wave = Math.sin(i / 40);
    samples.push({
      name: 'app.checkout.latency_ms',
      value: 180 + 40 * wave + (i % 7) * 3 + (i === 120 ? 900 : 0),
      labels: { region: 'eu' },
      ts,
    });
    samples.push({
      name: 'app.checkout.latency_ms',
      value: 240 + 30 * Math.cos(i / 30) + (i % 5) * 4,
      labels: { region: 'us' },
      ts,
    });
    samples.push({
      name: 'app.queue.depth',
      value: Math.max(0, 40 + 25 * wave + (i % 11)),
      labels: { queue: 'emails' },
      ts,
    });
  }
  await api(base, 'POST', '/api/v1/metrics', samples);
  await api(base, 'POST', '/api/v1/rules', {
    name: 'CheckoutSlow',
    kind: 'threshold',
    metric: 'app.checkout.latency_ms',
    threshold: 500,
    severity: 'critical',
    annotations: { summary: 'Checkout p-latency over 500 ms' },
  });
  await api(base, 'POST', '/api/v1/rules', {
    name: 'QueueBacklog',
    kind: 'threshold',
    metric: 'app.queue.depth',
    op: '>',
    threshold: 80,
    severity: 'warning',
  });
  await api(base, 'POST', '/api/v1/rules', {
    name: 'QueueSilent',
    kind: 'absence',
    metric: 'app.queue.depth',
    for: '5m',
    severity: 'info',
  });
  await api(base, 'POST', '/api/v1/metrics', [
    { name: 'app.checkout.latency_ms', value: 730, labels: { region: 'eu' } },
    { name: 'app.queue.depth', value: 95, labels: { queue: 'emails' } },
  ]);
  const { incidents } = await api<{ incidents: { id: string }[] }>(base, 'GET', '/api/v1/incidents');
  const inc = incidents[0];
  if (inc) {
    await api(base, 'POST', `/api/v1/incidents/${inc.id}/assign`, { assignee: 'ana', by: 'bo' });
    await api(base, 'POST', `/api/v1/incidents/${inc.id}/comments`, {
      by: 'ana',
      text: 'Looking at the EU payment provider.',
    });
  }
  const t1 = await api<{ id: string }>(base, 'POST', '/api/v1/tasks', {
    name: 'reindex-orders',
    total: 120_000,
    details: { shard: 3 },
  });
  await api(base, 'PATCH', `/api/v1/tasks/${t1.id}`, { processed: 46_500, errors: 12 });
  const t2 = await api<{ id: string }>(base, 'POST', '/api/v1/tasks', { name: 'backup-nightly', total: 40 });
  await api(base, 'PATCH', `/api/v1/tasks/${t2.id}`, { processed: 40, status: 'succeeded' });
  const t3 = await api<{ id: string }>(base, 'POST', '/api/v1/tasks', { name: 'import-csv', total: 500 });
  await api(base, 'PATCH', `/api/v1/tasks/${t3.id}`, {
    processed: 120,
    errors: 3,
    status: 'failed',
    details: { reason: 'bad row 121' },
  });
  for (let i = 1; i <= 5; i++) {
    await api(base, 'POST', '/api/v1/publish', {
      channel: 'orders.eu',
      kind: 'created',
      data: { id: 1000 + i, total: 20 * i },
    });
  }
}
