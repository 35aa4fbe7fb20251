/**
 * @module offline-queue.test
 * The offline queue policy: at most maxItems (the newest item is refused with offline_queue_full), at most
 * maxAgeMs old (offline_queue_expired), flushed in order on connect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VigilClient } from './client.js';
import { VigilClientError } from './errors.js';
import { OfflineQueue } from './offline-queue.js';
import { FakeServer, sleep, until } from './testing/fake-server.js';

interface Item {
  n: number;
  reject(err: VigilClientError): void;
}

function item(n: number, errors: Map<number, string>): Item {
  return { n, reject: (err) => errors.set(n, err.code) };
}

describe('OfflineQueue', () => {
  test('defaults: 1000 items, 30 s', () => {
    const q = new OfflineQueue();
    assert.equal(q.maxItems, 1000);
    assert.equal(q.maxAgeMs, 30_000);
  });

  test('refuses the newest item when full and keeps the queued ones in order', () => {
    const errors = new Map<number, string>();
    const q = new OfflineQueue<Item>({ maxItems: 3 });
    for (let n = 1; n <= 5; n++) q.push(item(n, errors));
    assert.equal(q.size, 3);
    assert.deepEqual(
      [...errors],
      [
        [4, 'offline_queue_full'],
        [5, 'offline_queue_full'],
      ],
    );
    assert.deepEqual(
      q.drain().map((i) => i.n),
      [1, 2, 3],
    );
    assert.equal(q.size, 0);
  });

  test('maxItems 0 turns queueing off', () => {
    const errors = new Map<number, string>();
    const q = new OfflineQueue<Item>({ maxItems: 0 });
    assert.equal(q.push(item(1, errors)), false);
    assert.equal(errors.get(1), 'offline_queue_full');
  });

  test('items expire after maxAgeMs, on their own timer, oldest first', async () => {
    const errors = new Map<number, string>();
    const q = new OfflineQueue<Item>({ maxAgeMs: 60 });
    q.push(item(1, errors));
    await sleep(40);
    q.push(item(2, errors));
    await sleep(40);
    assert.deepEqual([...errors], [[1, 'offline_queue_expired']]);
    assert.equal(q.size, 1);
    await sleep(50);
    assert.deepEqual([...errors.keys()], [1, 2]);
    assert.deepEqual(q.drain(), []);
  });

  test('an expired slot frees room for a new item', async () => {
    const errors = new Map<number, string>();
    const q = new OfflineQueue<Item>({ maxItems: 1, maxAgeMs: 30 });
    q.push(item(1, errors));
    await sleep(45);
    assert.equal(q.push(item(2, errors)), true);
    assert.equal(errors.get(1), 'offline_queue_expired');
  });
});

describe('client offline queue', () => {
  test('publish and call made before connecting are flushed in order on connect', async () => {
    const server = await FakeServer.start();
    server.methods.set('stats', () => ({ ok: 1 }));
    const c = new VigilClient({ url: server.url });
    try {
      const results = [c.publish('q.a', 1), c.call('stats'), c.publish('q.a', 2), c.publish('q.b', 3)];
      assert.equal(c.offlineQueueSize, 4);
      c.connect();
      const settled = await Promise.all(results);
      assert.deepEqual(settled[1], { ok: 1 });
      const ops = server.connections
        .values()
        .next()
        .value!.received.map((f) => `${f.op}:${f.channel ?? f.method}`);
      assert.deepEqual(ops, ['publish:q.a', 'call:stats', 'publish:q.a', 'publish:q.b']);
      assert.deepEqual(
        server.log('q.a').map((e) => e.data),
        [1, 2],
      );
    } finally {
      c.close();
      await server.stop();
    }
  });

  test('while reconnecting: full rejects the newest, old items expire, the rest flush in order', async () => {
    const server = await FakeServer.start();
    const c = new VigilClient({
      url: server.url,
      offlineQueue: { maxItems: 2, maxAgeMs: 150 },
      backoff: { minDelayMs: 10, maxDelayMs: 20 },
      // The fake server has no SSE: trying it between refused upgrades would only slow the reconnect timed here.
      transports: ['websocket'],
    });
    try {
      c.connect();
      await until(() => c.state === 'connected');
      server.refuse = 1_000_000;
      server.dropAll();
      await until(() => c.state === 'reconnecting');
      const old = c.publish('r.a', 'old');
      await sleep(100);
      const kept = c.publish('r.a', 'kept');
      const full = c.publish('r.a', 'full');
      await assert.rejects(
        full,
        (e: VigilClientError) => e instanceof VigilClientError && e.code === 'offline_queue_full',
      );
      await assert.rejects(old, { code: 'offline_queue_expired' });
      const later = c.publish('r.a', 'later');
      server.refuse = 0;
      assert.equal((await kept).offset, 1);
      assert.equal((await later).offset, 2);
      assert.deepEqual(
        server.log('r.a').map((e) => e.data),
        ['kept', 'later'],
      );
    } finally {
      c.close();
      await server.stop();
    }
  });
});
