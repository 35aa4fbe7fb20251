/**
 * @module conformance
 * The shared conformance suite every Broker engine must pass: offsets, epochs, history limits by count and age,
 * recovery after a position, gaps, ordering and delivery to listeners. An engine's test file calls
 * `brokerConformance()` with a factory; see memory-broker.test.ts. With `{ nodes: 2 }` every test publishes through
 * one node and reads, recovers and listens through another node of the same cluster (see redis-broker.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Broker, HistoryPolicy, StoredEvent } from './broker.js';
import type { HistoryBudget, HistoryRule } from './history-policy.js';

export interface BrokerFactoryOptions {
  defaults: HistoryPolicy;
  rules?: HistoryRule[];
  budget?: HistoryBudget;
  /** Brokers built with the same `cluster` are nodes of one cluster (they share channels); each value is new. */
  cluster: string;
}

/** Builds a started broker. */
export type BrokerFactory = (options: BrokerFactoryOptions) => Promise<Broker>;

export interface ConformanceMode {
  /** 2: publish through one node, read and listen through another. Default 1. */
  nodes?: 1 | 2;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let unique = 0;
const channelName = (base: string) => `conf.${base}.${process.pid}.${Date.now().toString(36)}${unique++}`;

export function brokerConformance(engine: string, make: BrokerFactory, mode: ConformanceMode = {}): void {
  const nodes = mode.nodes ?? 1;
  describe(`Broker conformance: ${engine}${nodes === 2 ? ', two nodes' : ''}`, () => {
    const open: Broker[] = [];
    let clusters = 0;
    /** A publishing node; `.reader` is where reads and listeners go (the same node, or another one). */
    const broker = async (
      options: Omit<BrokerFactoryOptions, 'cluster'> = { defaults: { max_events: 1000, max_age_ms: 600_000 } },
    ): Promise<Broker & { reader: Broker }> => {
      const cluster = `c${process.pid}x${clusters++}`;
      const b = await make({ ...options, cluster });
      open.push(b);
      const reader = nodes === 2 ? await make({ ...options, cluster }) : b;
      if (reader !== b) open.push(reader);
      return Object.assign(Object.create(b) as Broker, { reader });
    };
    after(async () => {
      for (const b of open) await b.close();
    });

    test('offsets start at 1 and rise by 1 per channel; the epoch is stable', async () => {
      const b = await broker();
      const ch = channelName('offsets');
      const other = channelName('other');
      const empty = await b.reader.position(ch);
      assert.equal(empty.offset, 0);
      const e1 = await b.publish({ channel: ch, kind: 'k', data: { n: 1 } });
      const o1 = await b.publish({ channel: other, kind: 'k', data: null });
      const e2 = await b.publish({ channel: ch, kind: 'k', data: { n: 2 } });
      assert.equal(e1.offset, 1);
      assert.equal(e2.offset, 2);
      assert.equal(o1.offset, 1);
      assert.equal(e1.epoch, e2.epoch);
      assert.equal(empty.epoch, e1.epoch, 'an empty channel reports the epoch its first event will carry');
      assert.deepEqual(await b.reader.position(ch), { epoch: e1.epoch, offset: 2 });
      assert.deepEqual(e2.data, { n: 2 });
      assert.equal(e2.kind, 'k');
      assert.equal(typeof e2.ts, 'number');
    });

    test('history is trimmed by count', async () => {
      const ch = channelName('count');
      const b = await broker({ defaults: { max_events: 5, max_age_ms: 600_000 } });
      for (let i = 1; i <= 12; i++) await b.publish({ channel: ch, kind: 'k', data: i });
      const h = await b.reader.history(ch);
      assert.deepEqual(
        h.events.map((e) => e.offset),
        [8, 9, 10, 11, 12],
      );
      assert.equal(h.offset, 12);
    });

    test('history is trimmed by age', async () => {
      const ch = channelName('age');
      const b = await broker({ defaults: { max_events: 1000, max_age_ms: 150 } });
      await b.publish({ channel: ch, kind: 'k', data: 1 });
      await b.publish({ channel: ch, kind: 'k', data: 2 });
      await sleep(250);
      await b.publish({ channel: ch, kind: 'k', data: 3 });
      const h = await b.reader.history(ch);
      assert.deepEqual(
        h.events.map((e) => e.offset),
        [3],
      );
    });

    test('per-pattern history rules override the defaults, first match wins', async () => {
      const ch = channelName('rules');
      const b = await broker({
        defaults: { max_events: 100, max_age_ms: 600_000 },
        rules: [
          { pattern: 'conf.rules.>', max_events: 2 },
          { pattern: 'conf.>', max_events: 50 },
        ],
      });
      for (let i = 0; i < 10; i++) await b.publish({ channel: ch, kind: 'k', data: i });
      assert.equal((await b.reader.history(ch)).events.length, 2);
    });

    test('recovery returns exactly the events after a position, in order', async () => {
      const ch = channelName('recover');
      const b = await broker();
      let epoch = '';
      for (let i = 1; i <= 50; i++) epoch = (await b.publish({ channel: ch, kind: 'k', data: i })).epoch;
      const h = await b.reader.history(ch, { since: { epoch, offset: 20 } });
      assert.equal(h.gap, undefined);
      assert.deepEqual(
        h.events.map((e) => e.offset),
        Array.from({ length: 30 }, (_, i) => 21 + i),
      );
      const none = await b.reader.history(ch, { since: { epoch, offset: 50 } });
      assert.deepEqual(none.events, []);
      assert.equal(none.gap, undefined);
      const limited = await b.reader.history(ch, { since: { epoch, offset: 10 }, limit: 3 });
      assert.deepEqual(
        limited.events.map((e) => e.offset),
        [11, 12, 13],
      );
      const newest = await b.reader.history(ch, { limit: 2 });
      assert.deepEqual(
        newest.events.map((e) => e.offset),
        [49, 50],
      );
    });

    test('a position older than history gives a history_expired gap, then what is left', async () => {
      const ch = channelName('expired');
      const b = await broker({ defaults: { max_events: 10, max_age_ms: 600_000 } });
      let epoch = '';
      for (let i = 1; i <= 30; i++) epoch = (await b.publish({ channel: ch, kind: 'k', data: i })).epoch;
      const h = await b.reader.history(ch, { since: { epoch, offset: 5 } });
      assert.deepEqual(h.gap, { from: 6, to: 20, reason: 'history_expired' });
      assert.deepEqual(
        h.events.map((e) => e.offset),
        Array.from({ length: 10 }, (_, i) => 21 + i),
      );
    });

    test('a position from another epoch gives an epoch_changed gap and the whole history', async () => {
      const ch = channelName('epoch');
      const b = await broker();
      for (let i = 1; i <= 3; i++) await b.publish({ channel: ch, kind: 'k', data: i });
      const h = await b.reader.history(ch, { since: { epoch: 'not-this-epoch', offset: 2 } });
      assert.equal(h.gap?.reason, 'epoch_changed');
      assert.equal(h.gap?.from, 3);
      assert.deepEqual(
        h.events.map((e) => e.offset),
        [1, 2, 3],
      );
    });

    test('listeners receive every event once, in offset order per channel', async () => {
      const b = await broker();
      const a = channelName('order-a');
      const c = channelName('order-b');
      const seen = new Map<string, number[]>();
      const off = b.reader.onEvent((e: StoredEvent) => {
        if (e.channel !== a && e.channel !== c) return;
        const list = seen.get(e.channel) ?? [];
        list.push(e.offset);
        seen.set(e.channel, list);
      });
      await b.reader.watch(a);
      await b.reader.watch(c);
      const pubs: Promise<StoredEvent>[] = [];
      for (let i = 0; i < 200; i++) pubs.push(b.publish({ channel: i % 2 ? a : c, kind: 'k', data: i }));
      await Promise.all(pubs);
      const deadline = Date.now() + 30_000;
      while (((seen.get(a)?.length ?? 0) < 100 || (seen.get(c)?.length ?? 0) < 100) && Date.now() < deadline) {
        await sleep(10);
      }
      off();
      const expected = Array.from({ length: 100 }, (_, i) => i + 1);
      assert.deepEqual(seen.get(a), expected);
      assert.deepEqual(seen.get(c), expected);
    });

    test('channels() lists channels with positions and history sizes', async () => {
      const b = await broker();
      const ch = channelName('list');
      await b.publish({ channel: ch, kind: 'k', data: 1 });
      await b.publish({ channel: ch, kind: 'k', data: 2 });
      const row = (await b.reader.channels()).find((c) => c.channel === ch);
      assert.ok(row, 'the channel is listed');
      assert.equal(row.offset, 2);
      assert.equal(row.history_size, 2);
      assert.ok(row.history_bytes > 0);
      assert.ok(row.last_ts > 0);
    });

    test('history is trimmed by bytes; an event over the limit is delivered but not kept', async () => {
      const ch = channelName('bytes');
      const b = await broker({ defaults: { max_events: 1000, max_age_ms: 600_000, max_bytes: 50_000 } });
      for (let i = 1; i <= 10; i++) await b.publish({ channel: ch, kind: 'k', data: 'x'.repeat(10_000) });
      const h = await b.reader.history(ch);
      assert.ok(h.events.length >= 3 && h.events.length <= 4, `kept ${h.events.length} events of 10 kB`);
      assert.equal(h.events.at(-1)?.offset, 10, 'the newest are kept');
      const row = (await b.reader.channels()).find((c) => c.channel === ch)!;
      assert.ok(row.history_bytes <= 50_000, `${row.history_bytes} bytes held`);
      const seen: number[] = [];
      const off = b.reader.onEvent((e) => {
        if (e.channel === ch) seen.push(e.offset);
      });
      await b.reader.watch(ch);
      await b.publish({ channel: ch, kind: 'k', data: 'y'.repeat(80_000) });
      for (let i = 0; i < 3000 && seen.length === 0; i++) await sleep(10);
      off();
      assert.deepEqual(seen, [11], 'the oversized event was delivered');
      assert.ok(
        (await b.reader.history(ch)).events.every((e) => e.offset !== 11),
        'and not kept',
      );
    });

    test('over the total budget the largest channels are cut back first; small ones keep their history', async () => {
      const big = channelName('budget-big');
      const small = channelName('budget-small');
      const b = await broker({
        defaults: { max_events: 1000, max_age_ms: 600_000 },
        budget: { max_total_bytes: 400_000, max_channels: 1000 },
      });
      for (let i = 0; i < 5; i++) await b.publish({ channel: small, kind: 'k', data: 'small' });
      for (let i = 0; i < 100; i++) await b.publish({ channel: big, kind: 'k', data: 'z'.repeat(20_000) });
      const rows = await b.reader.channels();
      const total = rows.reduce((n, c) => n + c.history_bytes, 0);
      assert.ok(total <= 400_000, `${total} bytes held in all`);
      assert.equal((await b.reader.history(small)).events.length, 5, 'the small channel kept everything');
      const kept = (await b.reader.history(big)).events;
      assert.ok(kept.length > 0 && kept.length < 20, `the big channel kept its newest ${kept.length}`);
      assert.equal(kept.at(-1)?.offset, 100);
    });

    test('a publish to a new channel past max_channels is refused with channel_limit', async () => {
      const b = await broker({
        defaults: { max_events: 10, max_age_ms: 600_000 },
        budget: { max_total_bytes: Number.POSITIVE_INFINITY, max_channels: 3 },
      });
      const names = [channelName('limit-a'), channelName('limit-b'), channelName('limit-c')];
      for (const ch of names) await b.publish({ channel: ch, kind: 'k', data: 1 });
      await assert.rejects(b.publish({ channel: channelName('limit-d'), kind: 'k', data: 1 }), {
        code: 'channel_limit',
      });
      assert.equal((await b.publish({ channel: names[0]!, kind: 'k', data: 2 })).offset, 2, 'known channels go on');
    });
  });
}
