/**
 * @module live-feed.test
 * The node's live feed on a real memory broker, with deliveries chosen by the test: a channel whose first events
 * never reached this node is completed from history when the node watched it at the time, and only then; a
 * forgotten position does not replay what was handed on before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../broker/broker.js';
import { HistoryPolicies } from '../broker/history-policy.js';
import { MemoryBroker } from '../broker/memory-broker.js';
import { until } from '../testing/hub-fixture.js';
import { LiveFeed, LOOKBACK } from './live-feed.js';

async function setup(watchedSince: (channel: string) => number | undefined, idleMs?: number) {
  const broker = new MemoryBroker({ policies: new HistoryPolicies({ max_events: 10_000, max_age_ms: 600_000 }) });
  await broker.start();
  const out: number[] = [];
  const gaps: string[] = [];
  const feed = new LiveFeed(
    broker,
    { event: (e) => out.push(e.offset), gap: (_c, g) => gaps.push(`${g.from}-${g.to}`) },
    { watchedSince, idleMs },
  );
  const publish = async (n: number, ts?: number): Promise<StoredEvent[]> => {
    const list: StoredEvent[] = [];
    for (let i = 0; i < n; i++) list.push(await broker.publish({ channel: 'lf.a', kind: 'k', data: i, ts }));
    return list;
  };
  return { broker, feed, out, gaps, publish };
}

describe('live feed: the first event of a channel on this node', () => {
  test('events lost before it, published while the node watched, come from history first', async () => {
    const start = Date.now() - 1000;
    const { feed, out, gaps, publish, broker } = await setup(() => start);
    const events = await publish(5);
    // Events 1 to 3 never reach this node; 4 arrives, then 5, then a late copy of 2.
    feed.accept(events[3]!);
    feed.accept(events[4]!);
    feed.accept(events[1]!);
    await until(() => out.length >= 5, 30_000, 'five events');
    assert.deepEqual(out, [1, 2, 3, 4, 5]);
    assert.deepEqual(gaps, []);
    feed.close();
    await broker.close();
  });

  test('nothing is looked up for a channel no local subscription covers', async () => {
    const { feed, out, publish, broker } = await setup(() => undefined);
    const events = await publish(3);
    feed.accept(events[2]!);
    assert.deepEqual(out, [3]);
    feed.close();
    await broker.close();
  });

  test('events published before the node watched the channel are not handed on', async () => {
    const { feed, out, publish, broker } = await setup(() => Date.now());
    const old = await publish(3, Date.now() - 60_000);
    const [fresh] = await publish(1);
    feed.accept(fresh!);
    await until(() => out.length >= 1, 30_000, 'the event');
    // Give a wrong replay every chance to show.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(out, [4]);
    assert.equal(old.length, 3);
    feed.close();
    await broker.close();
  });

  test('the look-back reaches at most LOOKBACK events', async () => {
    const { feed, out, publish, broker } = await setup(() => 0);
    const events = await publish(LOOKBACK + 10);
    feed.accept(events.at(-1)!);
    await until(() => out.at(-1) === LOOKBACK + 10, 30_000, 'the event');
    assert.deepEqual(
      out,
      Array.from({ length: LOOKBACK + 1 }, (_, i) => 10 + i),
    );
    feed.close();
    await broker.close();
  });
});
