/**
 * @module slow-consumer.test
 * A client that stops reading: the hub holds at most its queue bound for it, replaces its backlog with gaps, closes
 * it with 4008 once it has stayed full for the configured time, and other clients keep receiving everything.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import { sleep, startHub, TestClient, until } from '../testing/hub-fixture.js';

test('a client that stops reading is bounded, gapped and closed with 4008; others keep up', async () => {
  const maxQueue = 64 * 1024;
  const timeoutMs = 1000;
  const h = await startHub({ gateway: { max_queue_bytes: maxQueue, slow_consumer_timeout: timeoutMs } });
  const port = Number(new URL(h.url).port);

  // A raw client that completes the handshake, subscribes at connect time, then never reads again.
  const stuck = connect(port, '127.0.0.1');
  await new Promise<void>((r) => stuck.once('connect', () => r()));
  stuck.write(
    'GET /ws?channels=slow.x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  stuck.pause();
  stuck.on('error', () => {});

  const good = await TestClient.connect(h.wsUrl);
  await good.request({ op: 'subscribe', channels: ['slow.x'] });
  await until(() => h.hub.subscriberCount('slow.x') === 2, 2000, 'both subscriptions');
  const stuckConn = [...h.hub.gateway.connections].find((c) => c.subs.has('slow.x') && c.messagesIn === 0);
  assert.ok(stuckConn, 'the stuck connection is registered');

  const payload = 'x'.repeat(1000);
  let maxPending = 0;
  let published = 0;
  let firstFull = 0;
  const started = Date.now();
  while (stuckConn.ws.readyState === stuckConn.ws.OPEN && Date.now() - started < 15_000) {
    // Bursts of 20 events of 1 kB (well under the queue bound) every few ms: a rate a reading client sustains.
    for (let i = 0; i < 20; i++) {
      await h.hub.emit('slow.x', 'blob', { payload, i: published });
      published++;
      maxPending = Math.max(maxPending, stuckConn.pendingBytes());
    }
    if (firstFull === 0 && stuckConn.fullSince !== 0) firstFull = stuckConn.fullSince;
    await sleep(2);
  }
  const closedAt = Date.now();
  // The stuck client now resumes reading: what the hub had buffered ends with `closing` (4008) and the close frame.
  const tail: Buffer[] = [];
  stuck.on('data', (chunk: Buffer) => tail.push(chunk.subarray(-4096)));
  stuck.resume();
  await until(() => Buffer.concat(tail).includes('"type":"closing","code":4008'), 5000, 'the closing frame');
  await until(() => (h.hub.counters.disconnects.get(4008) ?? 0) === 1, 5000, 'the 4008 disconnect');

  assert.ok(firstFull > 0, 'the queue filled');
  assert.ok(
    closedAt - firstFull >= timeoutMs - 50,
    `closed ${closedAt - firstFull} ms after it filled, not before the timeout`,
  );
  assert.ok(closedAt - firstFull < timeoutMs + 3000, `closed ${closedAt - firstFull} ms after it filled`);
  const frameSize = 1100;
  assert.ok(maxPending <= maxQueue + frameSize, `pending bytes peaked at ${maxPending}, bound ${maxQueue}`);
  assert.ok(h.hub.counters.queue.drops > 0, 'events were dropped for the stuck client');
  const stats = await h.hub.stats();
  assert.equal(stats.slow_consumer_closes, 1, 'stats count the 4008 close');

  await good.next((f) => f.type === 'event' && f.offset === published, 10_000);
  const offsets = good.events('slow.x').map((e) => e.offset as number);
  assert.equal(offsets.length, published, 'the good client received every event');
  for (let i = 0; i < offsets.length; i++) assert.equal(offsets[i], i + 1);
  assert.equal(good.frames.filter((f) => f.type === 'gap').length, 0, 'and no gap');
  good.close();
  stuck.destroy();
  await h.stop();
});

test('latest mode conflates per key under pressure: the newest value of every key arrives, and no gap', async () => {
  const h = await startHub({ gateway: { max_queue_bytes: 64 * 1024, slow_consumer_timeout: 60_000 } });
  const c = await TestClient.connect(h.wsUrl);
  await c.request({ op: 'subscribe', channels: ['state.>'], mode: 'latest' });
  c.ws.pause();
  const payload = 'y'.repeat(1000);
  const keys = 10;
  const total = 20_000;
  for (let i = 0; i < total; i++) {
    await h.hub.emit('state.devices', 'device', { id: `d${i % keys}`, i, payload });
    if (i % 50 === 49) await sleep(1);
  }
  assert.ok(h.hub.counters.queue.drops > 0, 'the queue overflowed and conflated');
  c.ws.resume();
  for (let k = 0; k < keys; k++) {
    const last = total - keys + k;
    await c.next((f) => f.type === 'event' && (f.data as { i: number }).i === last, 10_000);
  }
  const events = c.events('state.devices');
  assert.ok(events.length < total, `conflated: ${events.length} of ${total} delivered`);
  assert.equal(c.frames.filter((f) => f.type === 'gap').length, 0, 'latest subscriptions get no gap');
  const perKey = new Map<string, number[]>();
  for (const e of events) {
    const d = e.data as { id: string; i: number };
    perKey.set(d.id, [...(perKey.get(d.id) ?? []), d.i]);
  }
  for (const list of perKey.values()) {
    for (let j = 1; j < list.length; j++) assert.ok(list[j]! > list[j - 1]!, 'per key, order holds');
  }
  c.close();
  await h.stop();
});
