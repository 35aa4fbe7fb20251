/**
 * @module redis-commands.test
 * What a publish costs Redis, on a private redis-server (its `INFO commandstats` counts nothing else): one round trip
 * (EVALSHA) and a bounded number of commands inside the script, with the history trimmed by count and a total budget
 * set; a burst of publishes to one channel shares one script call and one pub/sub message; a node delivering the
 * events to its listeners costs none. Also what the cheaper script must still do: the
 * channel's keys outlive its last event by at least the channel ttl, and the history bytes and totals stay exact.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { until } from '../testing/hub-fixture.js';
import { PrivateRedis } from '../testing/redis-server.js';
import type { StoredEvent } from './broker.js';
import { HistoryPolicies } from './history-policy.js';
import { MemoryBroker } from './memory-broker.js';
import { RedisBroker } from './redis-broker.js';

const missing = !existsSync('/usr/bin/redis-server') && !process.env.VIGIL_REQUIRE_SERVICES;

/** Calls per command since the last reset, without the commands the test itself runs. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const text = (await redis.info('commandstats')) as string;
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!['info', 'config|resetstat'].includes(m[1]!)) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('Redis commands per publish', {
  skip: missing && 'redis-server is not installed (apt-get install -y redis-server)',
}, () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const brokers: RedisBroker[] = [];
  const node = async (policies: HistoryPolicies, channelTtlMs?: number) => {
    const b = new RedisBroker({ url: redis.url, prefix: 'cmd:', policies, ...(channelTtlMs ? { channelTtlMs } : {}) });
    await b.start();
    brokers.push(b);
    return b;
  };
  before(async () => {
    redis = await PrivateRedis.start();
    admin = new Redis(redis.url);
  });
  after(async () => {
    for (const b of brokers) await b.close();
    admin.disconnect();
    await redis.kill();
  });

  test('a publish is one round trip of at most 10 commands, trimming included; a burst shares one; delivery costs none', async () => {
    const policies = new HistoryPolicies({ max_events: 20, max_age_ms: 600_000 }, [], {
      max_total_bytes: 64 * 1_048_576,
      max_channels: 1000,
    });
    const publisher = await node(policies);
    const reader = await node(policies);
    let seen = 0;
    reader.onEvent(() => seen++);
    await reader.watch('cost.a');
    // Past max_events, so that every publish below also drops the oldest events.
    for (let i = 0; i < 30; i++) await publisher.publish({ channel: 'cost.a', kind: 'k', data: { n: i } });
    await until(() => seen === 30, 5000, 'warm-up events');

    await admin.config('RESETSTAT');
    const one = 50;
    for (let i = 0; i < one; i++) await publisher.publish({ channel: 'cost.a', kind: 'k', data: { n: i } });
    await until(() => seen === 30 + one, 5000, 'events delivered');
    let calls = await commandCalls(admin);
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const show = JSON.stringify([...calls]);
    assert.equal(calls.get('evalsha'), one, `one EVALSHA per publish: ${show}`);
    assert.ok(sum(calls) <= 10 * one, `at most 10 commands per publish, script included: ${show}`);
    assert.equal(calls.get('xadd'), one);
    assert.equal(calls.get('publish'), one);

    await admin.config('RESETSTAT');
    const burst = 200;
    await Promise.all(
      Array.from({ length: burst }, (_, i) => publisher.publish({ channel: 'cost.a', kind: 'k', data: { n: i } })),
    );
    await until(() => seen === 30 + one + burst, 5000, 'burst delivered');
    calls = await commandCalls(admin);
    const scripts = calls.get('evalsha') ?? 0;
    assert.ok(scripts >= 1 && scripts <= 2, `a burst of one channel is one script call: ${JSON.stringify([...calls])}`);
    // Events that would be dropped at once (past max_events) are never appended.
    assert.equal(calls.get('xadd'), 20);
    assert.equal(calls.get('publish'), scripts, 'one pub/sub message per script call');
    assert.ok(sum(calls) <= burst + 10 * scripts, JSON.stringify([...calls]));

    const history = await reader.history('cost.a');
    const last = 30 + one + burst;
    assert.deepEqual(
      history.events.map((e) => e.offset),
      Array.from({ length: 20 }, (_, i) => last - 19 + i),
    );
  });

  test('the channel keys outlive the last event by at least the ttl; bytes held and totals stay exact', async () => {
    const ttl = 3_600_000;
    const policies = new HistoryPolicies({ max_events: 5, max_age_ms: 1000 });
    const b = await node(policies, ttl);
    for (let i = 0; i < 12; i++) await b.publish({ channel: 'ttl.a', kind: 'k', data: 'x'.repeat(i * 10) });
    for (const key of ['cmd:{ttl.a}:m', 'cmd:{ttl.a}:s']) {
      const left = await admin.pttl(key);
      assert.ok(left >= ttl - 1000 && left <= ttl + 60_000, `${key}: ${left} ms left`);
    }
    const [info] = (await b.channels()).filter((c) => c.channel === 'ttl.a');
    const held = (await b.history('ttl.a')).events;
    assert.equal(info?.history_size, 5);
    assert.deepEqual(
      held.map((e) => e.offset),
      [8, 9, 10, 11, 12],
    );
    const stored = (await admin.xrange('cmd:{ttl.a}:s', '-', '+')).reduce((n, [, f]) => n + Number(f[7]), 0);
    assert.equal(info?.history_bytes, stored);
    assert.equal(Number(await admin.zscore('cmd:sizes', 'ttl.a')), stored);
    // Events older than max_age leave with the next publish; the totals follow.
    await new Promise((r) => setTimeout(r, 1100));
    const next = await b.publish({ channel: 'ttl.a', kind: 'k', data: null });
    const after = (await b.history('ttl.a')).events;
    assert.deepEqual(
      after.map((e) => e.offset),
      [next.offset],
    );
    const totals = await admin.hget('cmd:totals', 'b');
    const sizes = await admin.zrange('cmd:sizes', 0, -1, 'WITHSCORES');
    let sum = 0;
    for (let i = 1; i < sizes.length; i += 2) sum += Number(sizes[i]);
    assert.equal(Number(totals), sum, 'the totals are the sum of the channels');
  });

  test('a burst keeps and delivers what the memory engine does with the same publishes', async () => {
    const policies = () => new HistoryPolicies({ max_events: 8, max_age_ms: 600_000, max_bytes: 4000 });
    const memory = new MemoryBroker({ policies: policies() });
    await memory.start();
    const redisNode = await node(policies());
    const reader = await node(policies());
    const seen: StoredEvent[] = [];
    reader.onEvent((e) => seen.push(e));
    await reader.watch('same.a');
    // Sizes around max_bytes: one event over it (delivered, not kept) in the middle of each burst.
    const data = (i: number) => 'x'.repeat(i % 7 === 3 ? 5000 : 100 + 150 * (i % 5));
    let next = 0;
    const t0 = Date.now();
    for (const size of [3, 12, 1, 20]) {
      const burst = Array.from({ length: size }, () => next++);
      const [m, r] = await Promise.all([
        Promise.all(burst.map((i) => memory.publish({ channel: 'same.a', kind: 'k', data: data(i), ts: t0 + i }))),
        Promise.all(burst.map((i) => redisNode.publish({ channel: 'same.a', kind: 'k', data: data(i), ts: t0 + i }))),
      ]);
      assert.deepEqual(
        r.map((e) => e.offset),
        m.map((e) => e.offset),
      );
      const [mh, rh] = [await memory.history('same.a'), await reader.history('same.a')];
      assert.ok(mh.events.length > 0);
      assert.deepEqual(
        rh.events.map((e) => [e.offset, e.data]),
        mh.events.map((e) => [e.offset, e.data]),
      );
      assert.equal(
        (await redisNode.channels()).find((c) => c.channel === 'same.a')?.history_bytes,
        (await memory.channels())[0]?.history_bytes,
      );
    }
    await until(() => seen.length === next, 5000, 'every event delivered');
    assert.deepEqual(
      seen.map((e) => [e.offset, e.ts, e.kind, e.data]),
      Array.from({ length: next }, (_, i) => [i + 1, t0 + i, 'k', data(i)]),
    );
    await memory.close();
  });

  test('a batch that fails before reaching Redis rejects its publishes; the next ones go through', async () => {
    class Failing extends HistoryPolicies {
      override for(channel: string) {
        if (channel === 'fail.bad') throw new Error('no policy');
        return super.for(channel);
      }
    }
    const b = await node(new Failing({ max_events: 10, max_age_ms: 600_000 }));
    const [bad, good] = await Promise.allSettled([
      b.publish({ channel: 'fail.bad', kind: 'k', data: 1 }),
      b.publish({ channel: 'fail.good', kind: 'k', data: 2 }),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.equal(good.status === 'fulfilled' && good.value.offset, 1);
    assert.equal((await b.publish({ channel: 'fail.good', kind: 'k', data: 3 })).offset, 2);
  });
});
