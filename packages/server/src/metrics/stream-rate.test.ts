/**
 * @module stream-rate.test
 * Past `metrics.stream_max_rate` updates a second, metric_update events are coalesced per series and published on
 * the stream tick with each series' newest sample.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHub, TestClient } from '../testing/hub-fixture.js';

test('over the stream rate, updates are coalesced per series per tick', async () => {
  const h = await startHub({ metrics: { collect_interval: 0, stream_max_rate: 5, stream_tick: '100ms' } });
  const c = await TestClient.connect(`${h.wsUrl}?channels=metrics.burst.>`);
  await new Promise((r) => setTimeout(r, 50));
  const now = Date.now();
  for (let round = 0; round < 3; round++) {
    const samples = Array.from({ length: 20 }, (_, i) => ({
      name: `burst.s${i}`,
      value: round,
      labels: {},
      ts: now + round,
    }));
    h.hub.metricsService.ingest(samples);
  }
  assert.equal(c.events().length, 0, 'nothing published at once: 20 updates are over the rate of 5');
  await c.next((f) => f.type === 'event' && f.channel === 'metrics.burst.s19', 2000);
  await new Promise((r) => setTimeout(r, 150));
  const events = c.events();
  assert.equal(events.length, 20, 'one update per series');
  for (const e of events) assert.equal((e.data as { value: number }).value, 2, 'carrying the newest sample');
  assert.equal(h.hub.metricsService.pipeline.deferredUpdates, 20);
  c.close();
  await h.stop();
});
