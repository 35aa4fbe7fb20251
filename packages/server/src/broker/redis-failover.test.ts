/**
 * @module redis-failover.test
 * The Redis engine when Redis misbehaves, on a private redis-server: a node cut off from pub/sub re-reads what was
 * published meanwhile (exact channels and new channels under a watched wildcard), and a Redis that restarts empty
 * gives every channel a new epoch, so the gateway turns the loss into `epoch_changed` instead of silence.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { until } from '../testing/hub-fixture.js';
import { PrivateRedis } from '../testing/redis-server.js';
import type { StoredEvent } from './broker.js';
import { HistoryPolicies } from './history-policy.js';
import { RedisBroker } from './redis-broker.js';

const policies = () => new HistoryPolicies({ max_events: 1000, max_age_ms: 600_000 });

// Without the binary the suite is skipped with that reason, unless VIGIL_REQUIRE_SERVICES makes it fail instead.
const missing = !existsSync('/usr/bin/redis-server') && !process.env.VIGIL_REQUIRE_SERVICES;

describe('Redis engine under failures', {
  skip: missing && 'redis-server is not installed (apt-get install -y redis-server)',
}, () => {
  let redis: PrivateRedis;
  const brokers: RedisBroker[] = [];
  const node = async () => {
    const b = new RedisBroker({ url: redis.url, prefix: 'f:', policies: policies() });
    await b.start();
    brokers.push(b);
    return b;
  };
  before(async () => {
    redis = await PrivateRedis.start();
  });
  after(async () => {
    for (const b of brokers) await b.close();
    await redis.kill();
  });

  test('after its pub/sub connection is cut, a node re-reads what it missed, once, in order', async () => {
    const publisher = await node();
    const reader = await node();
    const seen: StoredEvent[] = [];
    reader.onEvent((e) => seen.push(e));
    await reader.watch('cut.a');
    await reader.watch('cut.new.>');
    for (let i = 1; i <= 5; i++) await publisher.publish({ channel: 'cut.a', kind: 'k', data: i });
    await until(() => seen.length === 5, 5000, 'live events');
    await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (let i = 6; i <= 50; i++) await publisher.publish({ channel: 'cut.a', kind: 'k', data: i });
    for (let i = 1; i <= 3; i++) await publisher.publish({ channel: 'cut.new.b', kind: 'k', data: i });
    await until(() => seen.length === 53, 10_000, 'missed events re-read');
    const a = seen.filter((e) => e.channel === 'cut.a').map((e) => e.offset);
    assert.deepEqual(
      a,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      seen.filter((e) => e.channel === 'cut.new.b').map((e) => e.offset),
      [1, 2, 3],
    );
    await publisher.publish({ channel: 'cut.a', kind: 'k', data: 51 });
    await until(() => seen.length === 54, 5000, 'live again');
  });

  test('a Redis that restarts empty gives the channel a new epoch; nodes recover without a restart', async () => {
    const publisher = await node();
    const reader = await node();
    const seen: StoredEvent[] = [];
    reader.onEvent((e) => seen.push(e));
    await reader.watch('lost.a');
    const first = await publisher.publish({ channel: 'lost.a', kind: 'k', data: 1 });
    await publisher.publish({ channel: 'lost.a', kind: 'k', data: 2 });
    await until(() => seen.length === 2, 5000, 'before');
    await redis.restart();
    // Commands wait for the reconnect; the first publish after it starts a new epoch at offset 1.
    let after: StoredEvent | undefined;
    const deadline = Date.now() + 15_000;
    while (!after && Date.now() < deadline) {
      after = await publisher.publish({ channel: 'lost.a', kind: 'k', data: 3 }).catch(() => undefined);
    }
    assert.ok(after);
    assert.notEqual(after.epoch, first.epoch);
    assert.equal(after.offset, 1);
    const h = await reader.history('lost.a', { since: { epoch: first.epoch, offset: 2 } });
    assert.equal(h.gap?.reason, 'epoch_changed');
    await until(() => seen.some((e) => e.epoch === after!.epoch), 15_000, 'new epoch delivered');
  });
});
