/**
 * @module hub.test
 * VigilClient against the real hub, started in-process on port 0: exactly-once delivery of a 20,000-event stream
 * while the hub terminates the connection every 200 ms, and a hub restart on the same port that ends in either a
 * resume or an explicit `epoch_changed` gap followed by the new epoch's events.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { VigilClient } from './client.js';
import type { GapContext, VigilEvent } from './events.js';
import { sleep, until } from './testing/fake-server.js';
import { removeHubDirs, startRealHub } from './testing/real-hub.js';

after(removeHubDirs);

const startHub = (port = 0) => startRealHub({}, port);

describe('against the real hub', () => {
  test('20,000 events with the connection terminated every 200 ms arrive exactly once, in order', async () => {
    const TOTAL = 20_000;
    const { hub, url } = await startHub();
    const client = new VigilClient({ url, backoff: { minDelayMs: 10, maxDelayMs: 50 } });
    const offsets: number[] = [];
    const gaps: GapContext[] = [];
    const sub = client.subscribe('stream.hub');
    sub.on('event', (e) => offsets.push(e.offset));
    sub.on('gap', (g) => gaps.push(g));
    let kills = 0;
    const killer = setInterval(() => {
      for (const c of hub.gateway.connections) {
        c.ws.terminate();
        kills++;
      }
    }, 200);
    try {
      client.connect();
      await until(() => sub.state === 'subscribed', 5000, 'subscribed');
      for (let n = 1; n <= TOTAL; n += 100) {
        const batch: Promise<unknown>[] = [];
        for (let i = n; i < n + 100 && i <= TOTAL; i++) batch.push(hub.emit('stream.hub', 'tick', { n: i }));
        await Promise.all(batch);
        await sleep(10);
      }
      await until(() => offsets.at(-1) === TOTAL, 15_000, 'all events');
    } finally {
      clearInterval(killer);
      client.close();
      await hub.stop();
    }
    assert.ok(kills >= 5, `only ${kills} kills`);
    assert.deepEqual(gaps, []);
    assert.equal(offsets.length, TOTAL, 'no duplicates');
    for (let i = 0; i < TOTAL; i++) if (offsets[i] !== i + 1) assert.fail(`offset ${offsets[i]} at index ${i}`);
  });

  test('a hub restart on the same port ends in a resume or an explicit epoch_changed gap', async () => {
    const first = await startHub();
    const client = new VigilClient({ url: first.url, backoff: { minDelayMs: 10, maxDelayMs: 100 } });
    const events: VigilEvent[] = [];
    const gaps: GapContext[] = [];
    const states: string[] = [];
    client.on('state', (s) => states.push(`${s.newState}:${s.code}`));
    const sub = client.subscribe('restart.x');
    sub.on('event', (e) => events.push(e));
    sub.on('gap', (g) => gaps.push(g));
    let second: Awaited<ReturnType<typeof startHub>> | undefined;
    try {
      client.connect();
      await until(() => sub.state === 'subscribed', 5000, 'subscribed');
      for (let i = 1; i <= 5; i++) await first.hub.emit('restart.x', 'm', { i });
      await until(() => events.length === 5, 5000, 'first epoch');
      const oldEpoch = events[0]!.epoch;
      await first.hub.stop();
      second = await startHub(first.port);
      for (let i = 1; i <= 3; i++) await second.hub.emit('restart.x', 'm', { i: 100 + i });
      await until(() => events.length === 8, 10_000, 'events after the restart');
      await second.hub.emit('restart.x', 'm', { i: 104 });
      await until(() => events.length === 9, 5000, 'live event after the restart');

      assert.ok(states.includes('reconnecting:1001'), `states: ${states.join(' ')}`);
      const newEpoch = events[5]!.epoch;
      if (newEpoch === oldEpoch) {
        assert.deepEqual(gaps, [], 'a resume has no gap');
      } else {
        assert.deepEqual(gaps, [
          { channel: 'restart.x', from: 6, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' },
        ]);
      }
      assert.deepEqual(
        events.map((e) => `${e.offset}:${(e.data as { i: number }).i}`),
        ['1:1', '2:2', '3:3', '4:4', '5:5', '1:101', '2:102', '3:103', '4:104'],
      );
    } finally {
      client.close();
      await second?.hub.stop();
    }
  });
});
