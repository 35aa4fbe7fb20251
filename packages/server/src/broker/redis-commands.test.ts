/**
 * @module redis-commands.test
 * What a publish costs Redis, on a private redis-server (its `INFO commandstats` counts nothing else): one round trip
 * (EVALSHA) and a bounded number of commands inside the script, with the history trimmed by count and a total budget
 * set, and none for a node delivering the event to its listeners. Also what the cheaper script must still do: the
 * channel's keys outlive its last event by at least the channel ttl, and the history bytes and totals stay exact.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { until } from '../testing/hub-fixture.js';
import { PrivateRedis } from '../testing/redis-server.js';
import { HistoryPolicies } from './history-policy.js';
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

  test('a publish is one round trip and at most 10 commands, trimming included; delivery costs none', async () => {
    const policies = new HistoryPolicies({ max_events: 20, max_age_ms: 600_000 }, [], {
      max_total_bytes: 64 * 1_048_576,
      max_channels: 1000,
    });
    const publisher = await node(policies);
    const reader = await node(policies);
    let seen = 0;
    reader.onEvent(() => seen++);
    await reader.watch('cost.a');
    // Past max_events, so that every publish below also drops the oldest event.
    for (let i = 0; i < 30; i++) await publisher.publish({ channel: 'cost.a', kind: 'k', data: { n: i } });
    await until(() => seen === 30, 5000, 'warm-up events');
    await admin.config('RESETSTAT');
    const n = 200;
    await Promise.all(
      Array.from({ length: n }, (_, i) => publisher.publish({ channel: 'cost.a', kind: 'k', data: { n: i } })),
    );
    await until(() => seen === 30 + n, 5000, 'events delivered');
    const calls = await commandCalls(admin);
    let total = 0;
    for (const c of calls.values()) total += c;
    assert.equal(calls.get('evalsha'), n, `one EVALSHA per publish: ${JSON.stringify([...calls])}`);
    assert.ok(total <= 10 * n, `at most 10 commands per publish, script included: ${JSON.stringify([...calls])}`);
    assert.equal(calls.get('xadd'), n);
    assert.equal(calls.get('publish'), n);
    const history = await reader.history('cost.a');
    assert.deepEqual(
      history.events.map((e) => e.offset),
      Array.from({ length: 20 }, (_, i) => 30 + n - 19 + i),
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
});
