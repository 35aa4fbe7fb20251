/**
 * @module cluster/relay.test
 * What followers take in reaches the leader once, with real processes: three `vigil serve` nodes sharing Redis (a
 * random key prefix) and PostgreSQL (a random schema, dropped after).
 * - An external alert posted to every node (`POST /api/v1/alerts`) is one alert cluster-wide, with one `alert` event
 *   and one webhook delivery, and every node answers with the leader's alert.
 * - Samples posted to a follower are stored once in the shared PostgreSQL metric store.
 * - SIGKILL the leader; while no node holds the lease, a crossing sample and an external alert reach a follower:
 *   once another node takes the lease, both are raised exactly once (one event, one webhook each).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClusterNode } from '@vigil/protocol';
import pg from 'pg';
import { RecordingServer } from '../notify/test-support.js';
import { decodeSamples } from '../storage/chunk-codec.js';
import { unpackPending } from '../storage/pending-batch.js';
import { sleep, TestClient, until } from '../testing/hub-fixture.js';
import { runVigil, type ServeProcess } from '../testing/serve-process.js';
import {
  databaseUrl,
  dropPostgresSchema,
  dropRedisPrefix,
  randomSchema,
  redisUrl,
  requireService,
} from '../testing/services.js';

interface Node {
  id: string;
  proc: ServeProcess;
  url: string;
  alive: boolean;
}

interface ExternalReply {
  accepted: number;
  alerts: { id: string; rule: string; status: string }[];
}

const pgUrl = databaseUrl();
const rUrl = redisUrl();

if ((await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl))) {
  const schema = randomSchema();
  const prefix = `vigil-test:relay:${randomBytes(6).toString('hex')}:`;
  const nodes: Node[] = [];
  const hook = new RecordingServer();
  let dir: string;
  let watcher: TestClient | undefined;

  const live = () => nodes.filter((n) => n.alive);

  async function clusterView(node: Node): Promise<ClusterNode[]> {
    const res = await fetch(`${node.url}/api/v1/cluster`);
    return ((await res.json()) as { nodes: ClusterNode[] }).nodes;
  }

  /** The one leader the live nodes agree on, once they do. */
  async function leader(): Promise<Node> {
    let found: Node | undefined;
    await until(
      async () => {
        const views = await Promise.all(live().map((n) => clusterView(n).catch(() => [])));
        const ids = new Set(views.map((v) => v.find((x) => x.leader)?.id));
        const id = ids.size === 1 ? [...ids][0] : undefined;
        found = live().find((n) => n.id === id);
        return found !== undefined;
      },
      30_000,
      'one leader among the live nodes',
    );
    return found!;
  }

  async function post(node: Node, path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${node.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  }

  const external = (node: Node, name: string, host: string) =>
    post(node, '/api/v1/alerts', {
      name,
      status: 'firing',
      severity: 'error',
      labels: { host },
    }) as Promise<ExternalReply>;

  /** Distinct `alert` events (by offset) the watcher saw for `rule` and `host`, firing. */
  function firing(rule: string, host: string): number {
    const offsets = new Set<number>();
    for (const f of watcher?.frames ?? []) {
      if (f.type !== 'event' || f.channel !== 'alerts') continue;
      const d = f.data as { rule: string; status: string; labels: Record<string, string> };
      if (d.rule === rule && d.labels.host === host && d.status === 'firing') offsets.add(f.offset as number);
    }
    return offsets.size;
  }

  /** Webhook deliveries naming `host` (one alert per delivery here: grouped by alertname and host). */
  function webhooks(host: string): number {
    return hook.requests.filter((r) =>
      ((r.body as { alerts?: { labels: Record<string, string> }[] }).alerts ?? []).some((a) => a.labels.host === host),
    ).length;
  }

  before(async () => {
    await hook.start();
    dir = mkdtempSync(join(tmpdir(), 'vigil-relay-'));
    const config = join(dir, 'node.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        metrics: { collect_interval: 0 },
        dashboard: { enabled: false },
        alerts: {
          evaluation_interval: '200ms',
          rules: [
            { name: 'RelayHot', kind: 'threshold', metric: 'relay.temp', op: '>', threshold: 50, severity: 'critical' },
          ],
        },
        notifications: {
          webhooks: [
            {
              url: `${hook.url}/alerts`,
              group_by: ['alertname', 'host'],
              group_wait: '0s',
              send_resolved: false,
              max_attempts: 1,
            },
          ],
        },
      }),
    );
    for (let i = 1; i <= 3; i++) {
      const id = `relay-${i}`;
      const proc = runVigil(['serve', '--port', '0', '--data', join(dir, id), '--config', config], {
        VIGIL_NODE_ID: id,
        VIGIL_BROKER: 'redis',
        VIGIL_BROKER_URL: rUrl,
        VIGIL_BROKER_PREFIX: prefix,
        VIGIL_STORE: 'postgres',
        VIGIL_STORE_URL: pgUrl,
        VIGIL_STORE_SCHEMA: schema,
      });
      nodes.push({ id, proc, url: await proc.url(30_000), alive: true });
    }
  });

  after(async () => {
    watcher?.terminate();
    for (const n of nodes) if (n.alive) n.proc.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.proc.exited));
    await hook.stop();
    await dropPostgresSchema(pgUrl, schema);
    await dropRedisPrefix(rUrl, prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an external alert posted to every node is one alert, one event and one webhook cluster-wide', async () => {
    const first = await leader();
    const [b, c] = live().filter((n) => n !== first) as [Node, Node];
    watcher = await TestClient.connect(`${c.url.replace('http', 'ws')}/ws`);
    await watcher.request({ op: 'subscribe', channels: ['alerts'] });

    const fromB = await external(b, 'ExtDisk', 'e1');
    assert.equal(fromB.accepted, 1);
    const fromC = await external(c, 'ExtDisk', 'e1');
    const fromLeader = await external(first, 'ExtDisk', 'e1');
    const ids = [fromB, fromC, fromLeader].map((r) => r.alerts[0]!.id);
    assert.equal(new Set(ids).size, 1, `every node answers with the leader's alert: ${ids.join(', ')}`);
    await until(() => firing('ExtDisk', 'e1') >= 1 && webhooks('e1') >= 1, 30_000, 'the external alert and webhook');
    await sleep(1500);
    assert.equal(firing('ExtDisk', 'e1'), 1, 'one alert event cluster-wide');
    assert.equal(webhooks('e1'), 1, 'one webhook delivery');
    const active = (await (await fetch(`${first.url}/api/v1/alerts?active=true`)).json()) as {
      alerts: { id: string }[];
    };
    assert.equal(active.alerts.filter((a) => a.id === ids[0]).length, 1, 'the leader holds it');
  });

  test('samples posted to a follower are stored once in the shared metric store', async () => {
    const first = await leader();
    const b = live().find((n) => n !== first)!;
    const t0 = Date.now() - 60_000;
    const samples = Array.from({ length: 20 }, (_, i) => ({
      name: 'relay.stored',
      value: i,
      ts: t0 + i * 1000,
      labels: { host: 's1' },
    }));
    await post(b, '/api/v1/metrics', samples);
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    const stored = async (): Promise<number> => {
      const ids = await client.query<{ id: number }>(
        `SELECT id FROM ${schema}.metric_series WHERE name = 'relay.stored'`,
      );
      const id = ids.rows[0]?.id;
      if (id === undefined) return 0;
      let n = 0;
      for (const r of (await client.query<{ data: Buffer }>(`SELECT data FROM ${schema}.metric_pending`)).rows) {
        const p = unpackPending(r.data);
        for (let i = 0; i < p.count; i++) if (p.series[i] === id) n++;
      }
      const chunks = await client.query<{ data: Buffer }>(
        `SELECT data FROM ${schema}.metric_chunks WHERE series = $1`,
        [id],
      );
      for (const r of chunks.rows) n += decodeSamples(r.data).ts.length;
      return n;
    };
    try {
      // The leader has them (its hot window answers the query) ...
      await until(
        async () => {
          const res = await fetch(
            `${first.url}/api/v1/metrics/relay.stored?from=${t0}&to=${t0 + 20_000}&step=1s&agg=avg`,
          );
          if (res.status !== 200) return false;
          const body = (await res.json()) as { series: { points: unknown[] }[] };
          return body.series[0]?.points.length === 20;
        },
        30_000,
        'the leader to take in the relayed samples',
      );
      // ... and PostgreSQL holds them once: the follower's write, not a second one by the leader.
      await until(async () => (await stored()) >= 20, 30_000, 'the samples to be stored');
      await sleep(500);
      assert.equal(await stored(), 20);
    } finally {
      await client.end();
    }
  });

  test('a sample and an external alert that reach a follower while no node leads are raised once after the handover', async () => {
    const first = await leader();
    const [b, c] = live().filter((n) => n !== first) as [Node, Node];
    first.alive = false;
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    // The lease has not run out yet: no node leads while these arrive.
    await post(b, '/api/v1/metrics', { name: 'relay.temp', value: 80, labels: { host: 'h9' } });
    const pendingExternal = external(c, 'ExtHandover', 'e2');
    const next = await leader();
    assert.notEqual(next.id, first.id);
    const reply = await pendingExternal;
    assert.equal(reply.alerts[0]!.rule, 'ExtHandover');
    await until(
      () =>
        firing('RelayHot', 'h9') >= 1 && webhooks('h9') >= 1 && firing('ExtHandover', 'e2') >= 1 && webhooks('e2') >= 1,
      30_000,
      'both alerts through the new leader',
    );
    await sleep(1500);
    assert.equal(firing('RelayHot', 'h9'), 1, 'one alert event for the sample');
    assert.equal(webhooks('h9'), 1, 'one webhook for the sample');
    assert.equal(firing('ExtHandover', 'e2'), 1, 'one alert event for the external alert');
    assert.equal(webhooks('e2'), 1, 'one webhook for the external alert');
    assert.equal(firing('ExtDisk', 'e1'), 1, 'the earlier external alert carried over without a new event');
    assert.equal(webhooks('e1'), 1, 'and without a new webhook');
  });
}
