/**
 * @module history-budget.test
 * One publish-only key must not be able to exhaust the hub's memory through channel history: HTTP publish bodies are
 * held to the WebSocket payload limit, and history is bounded in bytes per channel and in total, whether the events
 * come over HTTP or as WebSocket frames. An event larger than a subscriber's queue bound still reaches it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, PUB_KEY } from '../auth/test-support.js';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

const MiB = 1_048_576;

const auth = {
  api_keys: [
    { key: PUB_KEY, name: 'orders-publisher', scopes: ['publish'], channels: ['orders.>'] },
    { key: ADMIN_KEY, name: 'admin', scopes: ['admin'] },
  ],
};

async function publish(h: RunningHub, channel: string, data: unknown, key = PUB_KEY) {
  const res = await fetch(`${h.url}/api/v1/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; offset?: number } };
}

async function historyBytes(h: RunningHub): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
  const m = /^vigil_channel_history_bytes (\d+)/m.exec(text);
  assert.ok(m, 'the history bytes gauge is exported');
  return Number(m[1]);
}

describe('history memory with the default limits', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ auth, metrics: { collect_interval: 0 } });
  });
  after(() => h.stop());

  test('an HTTP publish body over gateway.max_payload is refused with 413 payload_too_large', async () => {
    const big = await publish(h, 'orders.x', 'x'.repeat(Math.floor(9.9 * MiB)));
    assert.deepEqual([big.status, big.body.error?.code], [413, 'payload_too_large']);
    const fits = await publish(h, 'orders.x', 'x'.repeat(MiB - 1024));
    assert.equal(fits.status, 200);
  });
});

describe('history memory with small budgets', () => {
  let h: RunningHub;
  const budget = 12 * MiB;
  before(async () => {
    h = await startHub({
      auth,
      metrics: { collect_interval: 0 },
      gateway: { max_payload: 2 * MiB, max_queue_bytes: MiB },
      http: { publish_body_limit: 4 * MiB },
      history: { max_bytes: 6 * MiB, max_total_bytes: budget },
    });
  });
  after(() => h.stop());

  test('HTTP publishes and WebSocket frames keep history within the per-channel and total budgets', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await publish(h, 'orders.bystander', { i })).status, 200);
    const ws = await TestClient.connect(h.wsUrl, undefined, { headers: { authorization: `Bearer ${PUB_KEY}` } });
    let peak = 0;
    for (let round = 0; round < 6; round++) {
      const http = await publish(h, 'orders.flood', 'h'.repeat(3 * MiB));
      assert.equal(http.status, 200);
      for (let c = 0; c < 5; c++) {
        const reply = await ws.request({ op: 'publish', channel: `orders.ws${c}`, data: 'w'.repeat(MiB) });
        assert.equal(reply.ok, true, JSON.stringify(reply.error));
      }
      peak = Math.max(peak, await historyBytes(h));
    }
    ws.close();
    // 6 × 3 MiB over HTTP and 30 × 1 MiB over WebSocket were accepted: 48 MiB without a budget.
    assert.ok(peak <= budget, `history held ${peak} bytes at most; the budget is ${budget}`);
    const channels = (await (
      await fetch(`${h.url}/api/v1/channels`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as { channels: { channel: string; history_size: number; history_bytes: number }[] };
    const row = (name: string) => channels.channels.find((c) => c.channel === name)!;
    assert.equal(row('orders.bystander').history_size, 10, 'a small channel keeps its whole history');
    assert.ok(row('orders.flood').history_bytes <= 6 * MiB, 'a channel keeps at most history.max_bytes');
  });

  test('an event larger than a subscriber queue bound is delivered, not replaced by a gap', async () => {
    const sub = await TestClient.connect(h.wsUrl, undefined, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    await sub.request({ op: 'subscribe', channels: ['orders.large'] });
    const sent = await publish(h, 'orders.large', 'L'.repeat(Math.floor(1.5 * MiB)));
    assert.equal(sent.status, 200);
    const ev = await sub.next((f) => (f.type === 'event' || f.type === 'gap') && f.channel === 'orders.large');
    assert.equal(ev.type, 'event');
    assert.equal(String((ev as { data?: unknown }).data).length, Math.floor(1.5 * MiB));
    sub.close();
  });
});
