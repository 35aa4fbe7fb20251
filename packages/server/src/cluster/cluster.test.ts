/**
 * @module cluster.test
 * Three `vigil serve` processes on one private redis-server, behind a TCP round-robin balancer written here: a
 * client cut every 200 ms (so it lands on different nodes) receives exactly offsets 1..20,000 of a channel published
 * over HTTP to random nodes; clients of a node killed with SIGKILL reconnect through the balancer and lose nothing;
 * and a Redis that restarts empty mid-stream gives clients an `epoch_changed` gap, never silent loss, while the
 * cluster goes on without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Frame, sleep, TestClient, until } from '../testing/hub-fixture.js';
import { PrivateRedis } from '../testing/redis-server.js';
import { prng } from '../testing/seeded-random.js';
import { runVigil, type ServeProcess } from '../testing/serve-process.js';
import { TcpBalancer } from '../testing/tcp-balancer.js';

interface Node {
  proc: ServeProcess;
  url: string;
  port: number;
  alive: boolean;
}

/** Follows one channel through the balancer, resuming from its last position after every cut. */
class Follower {
  readonly offsets: number[] = [];
  readonly gaps: Frame[] = [];
  epoch: string | undefined;
  last = 0;
  reconnects = 0;
  private stopped = false;
  private client: TestClient | undefined;
  readonly done: Promise<void>;

  constructor(
    private readonly wsUrl: string,
    private readonly channel: string,
    private readonly cutEveryMs: number | undefined,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let c: TestClient;
      try {
        c = await TestClient.connect(this.wsUrl);
      } catch {
        await sleep(50);
        continue;
      }
      this.client = c;
      this.reconnects++;
      const recover = this.epoch ? { [this.channel]: { epoch: this.epoch, offset: this.last } } : undefined;
      let seen = c.frames.length;
      c.send({ op: 'subscribe', id: 1, channels: [this.channel], ...(recover ? { recover } : {}) });
      const until = this.cutEveryMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + this.cutEveryMs;
      while (!this.stopped && Date.now() < until && c.closeCode === undefined) {
        await sleep(5);
        for (; seen < c.frames.length; seen++) this.take(c.frames[seen]!);
      }
      for (; seen < c.frames.length; seen++) this.take(c.frames[seen]!);
      c.terminate();
    }
  }

  private take(f: Frame): void {
    if (f.type === 'reply' && f.id === 1 && f.ok === true && this.epoch === undefined) {
      const sub = (f.result as { subscriptions: { epoch: string }[] }).subscriptions[0]!;
      this.epoch = sub.epoch;
    }
    if (f.type === 'gap' && f.channel === this.channel) {
      this.gaps.push(f);
      if (f.reason === 'epoch_changed') this.last = 0;
    }
    if (f.type !== 'event' || f.channel !== this.channel) return;
    const offset = f.offset as number;
    this.offsets.push(offset);
    this.last = offset;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.client?.terminate();
  }
}

describe('three nodes behind a balancer', () => {
  let redis: PrivateRedis;
  let balancer: TcpBalancer;
  let dir: string;
  const nodes: Node[] = [];
  const random = prng(2024);

  const live = () => nodes.filter((n) => n.alive);

  /** POST /api/v1/publish to a random live node, retried on another while a node or Redis is away. */
  async function publish(channel: string, i: number): Promise<{ offset: number; epoch: string }> {
    for (;;) {
      const pool = live();
      const node = pool[Math.floor(random() * pool.length)]!;
      try {
        const res = await fetch(`${node.url}/api/v1/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel, data: { i } }),
        });
        if (res.status === 200) return (await res.json()) as { offset: number; epoch: string };
        await res.body?.cancel();
      } catch {
        // the node is gone, or went away mid-request: try another
      }
      await sleep(20);
    }
  }

  /** Publishes `count` events with `parallel` requests in flight; returns the positions the hubs answered. */
  async function publishMany(channel: string, count: number, parallel = 16, during?: (i: number) => Promise<void>) {
    const results: { offset: number; epoch: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        if (during) await during(i);
        results.push(await publish(channel, i));
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return results;
  }

  before(async () => {
    redis = await PrivateRedis.start();
    dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-'));
    const config = join(dir, 'node.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        history: { max_events: 25_000 },
        metrics: { collect_interval: 0 },
        dashboard: { enabled: false },
        gateway: { rate_limit: { messages_per_s: 1e6, burst: 1e6 } },
      }),
    );
    for (let i = 1; i <= 3; i++) {
      const proc = runVigil(['serve', '--port', '0', '--data', join(dir, `n${i}`), '--config', config], {
        VIGIL_NODE_ID: `n${i}`,
        VIGIL_BROKER: 'redis',
        VIGIL_BROKER_URL: redis.url,
      });
      const url = await proc.url();
      nodes.push({ proc, url, port: Number(new URL(url).port), alive: true });
    }
    balancer = await TcpBalancer.start(nodes.map((n) => n.port));
  });

  after(async () => {
    await balancer?.close();
    for (const n of nodes) if (n.alive) n.proc.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a client cut every 200 ms receives exactly offsets 1..20,000, published over HTTP to random nodes', async () => {
    const channel = 'cluster.cut';
    const follower = new Follower(`ws://127.0.0.1:${balancer.port}/ws`, channel, 200);
    await until(() => follower.epoch !== undefined, 10_000, 'the first subscription');
    const published = await publishMany(channel, 20_000);
    const top = Math.max(...published.map((p) => p.offset));
    await until(() => follower.last >= top, 60_000, `offset ${top} (at ${follower.last})`);
    await follower.stop();
    assert.equal(top, 20_000);
    assert.deepEqual(follower.gaps, []);
    assert.equal(follower.offsets.length, top, 'no loss, no duplicate');
    assert.ok(
      follower.offsets.every((o, i) => o === i + 1),
      'in order',
    );
    assert.ok(follower.reconnects > 5, `the client moved between nodes (${follower.reconnects} connections)`);
  });

  test('SIGKILL one node mid-stream: its clients reconnect through the balancer and lose nothing', async () => {
    const channel = 'cluster.kill';
    const followers = [0, 1, 2].map(() => new Follower(`ws://127.0.0.1:${balancer.port}/ws`, channel, undefined));
    await until(() => followers.every((f) => f.epoch !== undefined), 10_000, 'subscriptions');
    const victim = nodes[1]!;
    const published = await publishMany(channel, 6000, 16, async (i) => {
      if (i === 2000 && victim.alive) {
        victim.alive = false;
        victim.proc.child.kill('SIGKILL');
        await victim.proc.exited;
      }
    });
    const top = Math.max(...published.map((p) => p.offset));
    for (const f of followers) await until(() => f.last >= top, 30_000, `offset ${top} (at ${f.last})`);
    for (const f of followers) await f.stop();
    assert.ok(
      followers.some((f) => f.reconnects > 1),
      'a client of the killed node reconnected',
    );
    for (const f of followers) {
      assert.deepEqual(f.gaps, []);
      assert.deepEqual(
        f.offsets,
        Array.from({ length: top }, (_, i) => i + 1),
      );
    }
  });

  test('Redis restarted empty mid-stream: an epoch_changed gap, never silent loss; the cluster goes on', async () => {
    const channel = 'cluster.lost';
    const follower = new Follower(`ws://127.0.0.1:${balancer.port}/ws`, channel, undefined);
    await until(() => follower.epoch !== undefined, 10_000, 'subscription');
    const first = await publishMany(channel, 500, 4);
    const oldTop = Math.max(...first.map((p) => p.offset));
    await until(() => follower.last >= oldTop, 10_000, 'the first events');
    await redis.restart();
    const second = await publishMany(channel, 500, 4);
    const epoch = second[0]!.epoch;
    assert.notEqual(epoch, first[0]!.epoch, 'a new epoch');
    assert.ok(second.every((p) => p.epoch === epoch));
    const newTop = Math.max(...second.map((p) => p.offset));
    assert.equal(newTop, 500, 'the new epoch starts at 1');
    await until(() => follower.gaps.length > 0 && follower.last >= newTop, 30_000, 'the gap and the new events');
    await follower.stop();
    assert.equal(follower.gaps[0]!.reason, 'epoch_changed');
    const cut = follower.offsets.indexOf(1, 1);
    assert.deepEqual(
      follower.offsets.slice(0, cut),
      Array.from({ length: oldTop }, (_, i) => i + 1),
    );
    assert.deepEqual(
      follower.offsets.slice(cut),
      Array.from({ length: newTop }, (_, i) => i + 1),
    );
  });
});
