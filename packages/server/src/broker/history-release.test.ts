/**
 * @module history-release.test
 * An event that leaves a channel's history (by count, bytes or age) is let go at once, not kept until the history
 * array is next compacted: before, a channel of 1 MiB events under a 16 MiB budget still held about 270 of them,
 * and five such channels took the hub past 1 GiB.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HistoryPolicies } from './history-policy.js';
import { MemoryBroker } from './memory-broker.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('events dropped from history are released at once', async () => {
  const broker = new MemoryBroker({
    policies: new HistoryPolicies({ max_events: 4, max_age_ms: 600_000, max_bytes: 1024 * 1024 }),
  });
  await broker.start();
  const dropped: WeakRef<object>[] = [];
  // 20 events of 16 KiB: the history keeps 4 (by count), so the first 16 leave it.
  for (let i = 0; i < 20; i++) {
    const data = { i, pad: 'x'.repeat(16 * 1024) };
    if (i < 16) dropped.push(new WeakRef(data));
    await broker.publish({ channel: 'release.a', kind: 'k', data });
  }
  const kept = await broker.history('release.a');
  assert.deepEqual(
    kept.events.map((e) => e.offset),
    [17, 18, 19, 20],
  );
  await tick();
  gc();
  await tick();
  gc();
  const alive = dropped.filter((r) => r.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of 16 dropped events are still held`);
  await broker.close();
});
