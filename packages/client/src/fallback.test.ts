/**
 * @module fallback.test
 * The SSE transport against a real hub behind a proxy that can refuse WebSocket upgrades: a client whose WebSocket
 * cannot connect comes up on SSE, receives live events, publishes and calls over REST; a client on WebSocket whose
 * WebSocket is cut falls back to SSE and receives exactly the next offsets of a channel being published, then moves
 * back to WebSocket once upgrades pass again; `transports` forces one; the React hooks run on SSE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createElement as h, type ReactElement } from 'react';
import { create, type ReactTestRenderer } from 'react-test-renderer';
import { VigilClient } from './client.js';
import type { GapContext, TransportContext, VigilEvent } from './events.js';
import { httpBase } from './options.js';
import { useChannel, useConnectionState, useHosts, useTransport, VigilProvider } from './react/index.js';
import { sleep, until } from './testing/fake-server.js';
import { type RealHub, removeHubDirs, startRealHub } from './testing/real-hub.js';
import { startUpgradeProxy, type UpgradeProxy } from './testing/upgrade-proxy.js';

const fast = { backoff: { minDelayMs: 10, maxDelayMs: 50 } };

let real: RealHub;
before(async () => {
  real = await startRealHub();
});
after(async () => {
  await real.hub.stop();
  removeHubDirs();
});

async function withProxy(allow: boolean, fn: (proxy: UpgradeProxy) => Promise<void>): Promise<void> {
  const proxy = await startUpgradeProxy(real.port, allow);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

describe('SSE fallback', () => {
  test('a hub whose WebSocket upgrade is refused: the client connects over SSE, gets live events, publishes', () =>
    withProxy(false, async (proxy) => {
      const client = new VigilClient({ url: proxy.url, ...fast });
      const transports: TransportContext[] = [];
      client.on('transport', (t) => transports.push(t));
      try {
        const sub = client.subscribe('fb1.>');
        const events: VigilEvent[] = [];
        sub.on('event', (e) => events.push(e));
        client.connect();
        await until(() => sub.state === 'subscribed', 10_000, 'subscribed over SSE');
        assert.equal(client.transport, 'sse');
        assert.deepEqual(transports, [{ transport: 'sse', previous: undefined }]);
        assert.ok(proxy.refused >= 1);

        await real.hub.emit('fb1.a', 'tick', { n: 1 });
        const published = await client.publish('fb1.b', { n: 2 }, 'note');
        assert.deepEqual([published.channel, published.offset], ['fb1.b', 1]);
        await until(() => events.length === 2, 5000, 'two live events');
        assert.deepEqual(
          events.map((e) => [e.channel, e.offset, e.kind, e.data]),
          [
            ['fb1.a', 1, 'tick', { n: 1 }],
            ['fb1.b', 1, 'note', { n: 2 }],
          ],
        );
        assert.equal(events[0]!.epoch, published.epoch);
        assert.equal(typeof (await client.ping()), 'number');

        // A publish the hub refuses carries the hub's code, as over WebSocket.
        await assert.rejects(client.publish('alerts', 1), { code: 'forbidden', fromServer: true });
        // Calls with a REST route answer as over WebSocket; the others reject with transport_unsupported.
        await assert.rejects(client.call('alerts.ack', { rule: 'x' }), {
          code: 'transport_unsupported',
          fromServer: false,
        });
        await assert.rejects(client.call('system.status'), { code: 'transport_unsupported' });
        // A subscribe the hub refuses fails that subscription only.
        const bad = client.subscribe('fb1.x', { filter: { kinds: ['a'], nope: 1 } as never });
        const err = await new Promise<{ code: string }>((resolve) => bad.on('error', (e) => resolve(e.error)));
        assert.equal(err.code, 'bad_request');
        assert.equal(client.state, 'connected');
      } finally {
        client.close();
      }
    }));

  test('calls over REST give what they give over WebSocket', () =>
    withProxy(false, async (proxy) => {
      const sse = new VigilClient({ url: proxy.url, transports: ['sse'], ...fast });
      const ws = new VigilClient({ url: real.url, transports: ['websocket'], ...fast });
      try {
        sse.connect();
        ws.connect();
        await until(() => sse.state === 'connected' && ws.state === 'connected', 10_000, 'both connected');
        await real.hub.emit('fb2.h', 'k', 1);
        await real.hub.emit('fb2.h', 'k', 2);
        const same: [string, unknown][] = [
          ['channels.history', { channel: 'fb2.h', since: 1 }],
          ['alerts.list', undefined],
          ['alerts.list', { state: 'resolved', limit: 5 }],
          ['tasks.list', { limit: 5 }],
          ['incidents.list', { status: 'open' }],
          ['hosts.list', undefined],
          ['metrics.current', { prefix: 'none.' }],
        ];
        for (const [method, params] of same) {
          assert.deepEqual(await sse.call(method, params), await ws.call(method, params), method);
        }
        for (const method of ['stats', 'metrics.summary', 'cluster.nodes']) {
          const [a, b] = [await sse.call(method), await ws.call(method)];
          assert.deepEqual(Object.keys(a as object).sort(), Object.keys(b as object).sort(), method);
        }
        await assert.rejects(sse.call('hosts.get', { id: 'nope' }), { code: 'not_found' });
        await assert.rejects(ws.call('hosts.get', { id: 'nope' }), { code: 'not_found' });
      } finally {
        sse.close();
        ws.close();
      }
    }));

  test('a WebSocket that becomes unreachable falls back to SSE with no loss or duplicate, then moves back', () =>
    withProxy(true, async (proxy) => {
      const client = new VigilClient({ url: proxy.url, websocketRetryMs: 100, ...fast });
      const transports: TransportContext[] = [];
      client.on('transport', (t) => transports.push(t));
      const exact = client.subscribe('fb3.a');
      const wild = client.subscribe('fb3w.>');
      const offsets: number[] = [];
      const wildOffsets: number[] = [];
      const gaps: GapContext[] = [];
      exact.on('event', (e) => offsets.push(e.offset));
      wild.on('event', (e) => wildOffsets.push(e.offset));
      exact.on('gap', (g) => gaps.push(g));
      client.connect();
      await until(() => exact.state === 'subscribed' && wild.state === 'subscribed', 10_000, 'subscribed');
      await real.hub.emit('fb3w.x', 'tick', { n: 0 });
      await until(() => wildOffsets.length === 1, 5000, 'the wildcard sees its channel');
      wildOffsets.length = 0;
      let n = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          n++;
          await real.hub.emit('fb3.a', 'tick', { n });
          await real.hub.emit('fb3w.x', 'tick', { n });
          await sleep(2);
        }
      })();
      try {
        await until(() => client.transport === 'websocket' && offsets.length >= 20, 10_000, 'events over WebSocket');
        proxy.allowUpgrades = false;
        proxy.cutUpgraded();
        await until(() => client.transport === 'sse', 10_000, 'fallback to SSE');
        const onSse = offsets.length;
        await until(() => offsets.length >= onSse + 50, 10_000, 'events over SSE');
        proxy.allowUpgrades = true;
        await until(() => client.transport === 'websocket', 10_000, 'back to WebSocket');
        const back = offsets.length;
        await until(() => offsets.length >= back + 50, 10_000, 'events over WebSocket again');
        // Twice more, to cross the switch while events flow at different points.
        for (let i = 0; i < 2; i++) {
          proxy.allowUpgrades = false;
          proxy.cutUpgraded();
          await until(() => client.transport === 'sse', 10_000, 'fallback again');
          await sleep(30);
          proxy.allowUpgrades = true;
          await until(() => client.transport === 'websocket', 10_000, 'back again');
        }
      } finally {
        publishing = false;
        await publisher;
      }
      try {
        await until(() => offsets.at(-1) === n && wildOffsets.at(-1) === n + 1, 10_000, 'the last event');
        assert.deepEqual(gaps, []);
        assert.deepEqual(
          offsets,
          Array.from({ length: n }, (_, i) => i + 1),
          'every offset once, in order',
        );
        // The wildcard's channel was seen before the first switch, so it resumes exactly too.
        assert.deepEqual(
          wildOffsets,
          Array.from({ length: n }, (_, i) => i + 2),
        );
        assert.deepEqual(
          transports.map((t) => t.transport),
          ['websocket', 'sse', 'websocket', 'sse', 'websocket', 'sse', 'websocket'],
        );
      } finally {
        client.close();
      }
    }));

  test('transports forces one: sse never opens a WebSocket, websocket never falls back', () =>
    withProxy(false, async (proxy) => {
      const ws = new VigilClient({ url: proxy.url, transports: ['websocket'], ...fast });
      const sse = new VigilClient({ url: real.url, transports: ['sse'], websocketRetryMs: 10, ...fast });
      try {
        ws.connect();
        sse.connect();
        await until(() => sse.transport === 'sse', 10_000, 'sse');
        await until(() => proxy.refused >= 3, 10_000, 'refused WebSockets');
        assert.equal(ws.state, 'reconnecting');
        assert.equal(ws.transport, undefined);
        const before = real.hub.gateway.connections.size;
        await sleep(100);
        assert.equal(sse.transport, 'sse');
        assert.equal(real.hub.gateway.connections.size, before);
      } finally {
        ws.close();
        sse.close();
      }
      for (const bad of [[], ['ws'], ['sse', 'sse']]) {
        assert.throws(() => new VigilClient({ url: real.url, transports: bad as never }), /transports/);
      }
      assert.equal(httpBase('ws://h:1/ws'), 'http://h:1');
      assert.equal(httpBase('wss://h/vigil/ws?x=1'), 'https://h/vigil');
      assert.equal(httpBase('http://h:2'), 'http://h:2');
    }));

  test('subscribes made one after another share at most a few streams, with no loss or duplicate', async () => {
    let open = 0;
    let most = 0;
    const fetch = (input: string, init?: RequestInit) => {
      if (input.includes('/api/v1/stream?')) {
        open++;
        most = Math.max(most, open);
        init?.signal?.addEventListener('abort', () => open--);
      }
      return globalThis.fetch(input, init);
    };
    const client = new VigilClient({ url: real.url, transports: ['sse'], fetch, ...fast });
    let publishing = true;
    const sent = new Map<string, number>();
    const publisher = (async () => {
      while (publishing) {
        for (let i = 0; i < 8; i++) {
          const e = await real.hub.emit(`fb7.c${i}`, 'k', i);
          sent.set(e.channel, e.offset);
        }
        await sleep(2);
      }
    })();
    try {
      client.connect();
      const got = new Map<string, number[]>();
      for (let i = 0; i < 8; i++) {
        const sub = client.subscribe(`fb7.c${i}`);
        const offsets: number[] = [];
        got.set(`fb7.c${i}`, offsets);
        sub.on('event', (e) => offsets.push(e.offset));
        await until(() => sub.state === 'subscribed' && offsets.length >= 3, 10_000, `fb7.c${i}`);
      }
      publishing = false;
      await publisher;
      await until(() => [...got].every(([c, o]) => o.at(-1) === sent.get(c)), 10_000, 'the last events');
      for (const [channel, offsets] of got) {
        const first = offsets[0]!;
        assert.deepEqual(
          offsets,
          Array.from({ length: offsets.length }, (_, i) => first + i),
          channel,
        );
      }
      assert.ok(most <= 4, `${most} streams open at once`);
      assert.ok(open <= 3, `${open} streams open`);
    } finally {
      publishing = false;
      await publisher;
      client.close();
    }
  });

  test('the hub restarting under an SSE client: it reconnects and resumes (epoch_changed gap)', async () => {
    const own = await startRealHub();
    const client = new VigilClient({ url: own.url, transports: ['sse'], ...fast });
    try {
      const sub = client.subscribe('fb5.a');
      const offsets: number[] = [];
      const gaps: GapContext[] = [];
      sub.on('event', (e) => offsets.push(e.offset));
      sub.on('gap', (g) => gaps.push(g));
      client.connect();
      await until(() => sub.state === 'subscribed', 10_000, 'subscribed');
      await own.hub.emit('fb5.a', 'k', 1);
      await own.hub.emit('fb5.a', 'k', 2);
      await until(() => offsets.length === 2, 5000, 'two events');
      await own.hub.stop();
      await until(() => client.state === 'reconnecting', 10_000, 'reconnecting');
      const again = await startRealHub({}, own.port);
      try {
        await until(() => client.state === 'connected' && sub.state === 'subscribed', 15_000, 'reconnected');
        await again.hub.emit('fb5.a', 'k', 1);
        await until(() => offsets.length === 3, 5000, 'event of the new epoch');
        assert.deepEqual(offsets, [1, 2, 1]);
        assert.deepEqual(
          gaps.map((g) => g.reason),
          ['epoch_changed'],
        );
      } finally {
        await again.hub.stop();
      }
    } finally {
      client.close();
    }
  });
});

interface Probe<T> {
  value: T | undefined;
}

function HookProbe<T>({ hook, probe }: { hook: () => T; probe: Probe<T> }): ReactElement | null {
  probe.value = hook();
  return null;
}

describe('React hooks over SSE', () => {
  test('useConnectionState, useTransport, useChannel and useHosts run on the SSE transport', () =>
    withProxy(false, async (proxy) => {
      const client = new VigilClient({ url: proxy.url, ...fast });
      const state: Probe<string> = { value: undefined };
      const transport: Probe<string | undefined> = { value: undefined };
      const channel: Probe<VigilEvent[]> = { value: undefined };
      const hosts: Probe<ReadonlyMap<string, unknown>> = { value: undefined };
      let renderer: ReactTestRenderer | undefined;
      try {
        client.connect();
        renderer = create(
          h(
            VigilProvider,
            { client },
            h(HookProbe, { hook: () => useConnectionState(), probe: state }),
            h(HookProbe, { hook: () => useTransport(), probe: transport }),
            h(HookProbe, { hook: () => useChannel('fb6.a'), probe: channel }),
            h(HookProbe, { hook: () => useHosts(), probe: hosts }),
          ),
        );
        await until(() => state.value === 'connected' && transport.value === 'sse', 10_000, 'connected over SSE');
        await until(() => client.subscriptions.every((s) => s.state === 'subscribed'), 10_000, 'subscribed');
        await real.hub.emit('fb6.a', 'k', { v: 1 });
        await real.hub.emit('fb6.a', 'k', { v: 2 });
        await until(() => (channel.value?.length ?? 0) === 2, 5000, 'useChannel events');
        assert.deepEqual(
          channel.value!.map((e) => e.data),
          [{ v: 1 }, { v: 2 }],
        );
        assert.ok(hosts.value instanceof Map);
        const streams = (await real.hub.stats()).subscriptions;
        assert.ok(streams >= 2, `${streams} subscriptions on the hub`);
        renderer.unmount();
        renderer = undefined;
        await until(() => client.subscriptions.length === 0, 3000, 'unsubscribed');
        // Their streams end: the hub drops the subscriptions.
        let left = streams;
        await until(
          () => {
            void real.hub.stats().then((s) => (left = s.subscriptions));
            return left === 0;
          },
          5000,
          'streams closed',
        );
      } finally {
        renderer?.unmount();
        client.close();
      }
    }));
});
