/**
 * @module positions.test
 * The gateway does not rely on how its broker delivers: behind a broker that delivers late, twice, or not at all,
 * a subscriber still gets every event exactly once and in order (duplicates dropped, jumps filled from history), and
 * a history too short to fill a jump, or a channel whose epoch changes, gives an explicit `gap`.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Broker, EventListener, HistoryQuery, HistoryResult, StoredEvent } from '../broker/broker.js';
import { HistoryPolicies } from '../broker/history-policy.js';
import { MemoryBroker } from '../broker/memory-broker.js';
import { type Frame, type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';
import { prng } from '../testing/seeded-random.js';
import { UnreliableBroker } from '../testing/unreliable-broker.js';

const policies = (max_events: number) => new HistoryPolicies({ max_events, max_age_ms: 600_000 });

function offsets(c: TestClient, channel: string): number[] {
  return c.events(channel).map((f) => f.offset as number);
}

describe('gateway positions over an unreliable broker', () => {
  const hubs: RunningHub[] = [];
  after(async () => {
    for (const h of hubs) await h.stop();
  });

  test('late, doubled and lost deliveries reach subscribers exactly once and in order', async () => {
    const broker = new UnreliableBroker(new MemoryBroker({ policies: policies(100_000) }), {
      duplicate: 0.1,
      lose: 0.05,
      maxDelayMs: 15,
      random: prng(7),
    });
    // The fleet part publishes too (its own host, the topology as clients come and go); those events would draw on
    // the seeded random stream at times that depend on timing, so it is kept quiet here.
    const h = await startHub({ fleet: { self: false, check_interval: '1h' } }, { broker });
    hubs.push(h);
    const exact = await TestClient.connect(h.wsUrl);
    const wild = await TestClient.connect(h.wsUrl);
    await exact.request({ op: 'subscribe', channels: ['pos.a'] });
    await wild.request({ op: 'subscribe', channels: ['pos.*'] });
    const total = 2000;
    // A third client joins mid-stream, recovering from offset 0.
    let late: TestClient | undefined;
    for (let i = 1; i <= total; i++) {
      await h.hub.emit('pos.a', 'k', { i });
      if (i === 700) {
        late = await TestClient.connect(h.wsUrl);
        const { epoch } = await h.hub.broker.position('pos.a');
        await late.request({ op: 'subscribe', channels: ['pos.a'], recover: { 'pos.a': { epoch, offset: 0 } } });
      }
    }
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const c of [exact, wild, late!]) {
      await until(() => offsets(c, 'pos.a').at(-1) === total, 10_000, 'the last event');
      assert.deepEqual(offsets(c, 'pos.a'), expected);
      assert.equal(c.frames.filter((f) => f.type === 'gap').length, 0);
      c.close();
    }
  });

  test('a jump that history no longer covers becomes a gap, then the stream goes on', async () => {
    const inner = new MemoryBroker({ policies: policies(5) });
    let deliver = true;
    // Deliveries stop for a while, as when a node loses its connection to the broker.
    const gated = Object.assign(Object.create(inner) as Broker, {
      onEvent: (l: EventListener) => inner.onEvent((e: StoredEvent) => deliver && l(e)),
    });
    const h = await startHub({}, { broker: gated });
    hubs.push(h);
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['jump.a'] });
    await h.hub.emit('jump.a', 'k', 1);
    await until(() => offsets(c, 'jump.a').length === 1, 2000, 'first event');
    deliver = false;
    for (let i = 2; i <= 20; i++) await h.hub.emit('jump.a', 'k', i);
    deliver = true;
    await h.hub.emit('jump.a', 'k', 21);
    await until(() => offsets(c, 'jump.a').at(-1) === 21, 2000, 'the stream resumes');
    const gap = c.frames.find((f: Frame) => f.type === 'gap');
    assert.deepEqual(
      { from: gap?.from, to: gap?.to, reason: gap?.reason },
      { from: 2, to: 16, reason: 'history_expired' },
    );
    assert.deepEqual(offsets(c, 'jump.a'), [1, 17, 18, 19, 20, 21]);
    const gi = c.frames.indexOf(gap!);
    assert.ok(gi < c.frames.findIndex((f) => f.type === 'event' && f.offset === 17), 'the gap comes first');
    c.close();
  });

  test('an event of a new epoch gives an epoch_changed gap, then the new epoch from its start', async () => {
    const first = new MemoryBroker({ policies: policies(100) });
    const second = new MemoryBroker({ policies: policies(100) });
    let current: MemoryBroker = first;
    const listeners: EventListener[] = [];
    for (const b of [first, second]) {
      b.onEvent((e) => {
        if (b === current) for (const l of listeners) l(e);
      });
    }
    // A broker whose store is replaced mid-stream, as when Redis loses its data.
    const swapping: Broker = {
      engine: 'memory',
      start: async () => {},
      publish: (input) => current.publish(input),
      history: (channel: string, query?: HistoryQuery): Promise<HistoryResult> => current.history(channel, query),
      position: (channel) => current.position(channel),
      channels: () => current.channels(),
      onEvent: (l) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
      watch: async () => {},
      unwatch: async () => {},
      close: async () => {},
    };
    const h = await startHub({}, { broker: swapping });
    hubs.push(h);
    const c = await TestClient.connect(h.wsUrl);
    const w = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['epo.a'] });
    await w.request({ op: 'subscribe', channels: ['epo.>'] });
    for (let i = 1; i <= 3; i++) await h.hub.emit('epo.a', 'k', i);
    current = second;
    for (let i = 1; i <= 2; i++) await h.hub.emit('epo.a', 'k', i);
    for (const client of [c, w]) {
      await until(() => client.events('epo.a').length === 5, 2000, 'five events');
      const gaps = client.frames.filter((f) => f.type === 'gap');
      assert.equal(gaps.length, 1, JSON.stringify(gaps));
      assert.equal(gaps[0]!.reason, 'epoch_changed');
      assert.equal(gaps[0]!.from, 4);
      assert.deepEqual(offsets(client, 'epo.a'), [1, 2, 3, 1, 2]);
      assert.equal(client.events('epo.a')[3]!.offset, 1);
      client.close();
    }
  });
});
