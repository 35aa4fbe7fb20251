/**
 * @module cluster/host-series.test
 * Each cluster node labels its own host series (its collector's `system.*` and `process.*`) with its host id, before
 * they are stored, published or relayed: two nodes sharing Redis and PostgreSQL write distinct series, and a third
 * node reads each node's series from the store, holding that node's samples and no other's. A single node keeps its
 * own series unlabelled. Also: how the hub's own host id and that label are chosen from the configuration.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { hostIdFromName, toFleetConfig } from '../fleet/config.js';
import type { Hub } from '../hub.js';
import { type RunningHub, startHub, until } from '../testing/hub-fixture.js';
import {
  databaseUrl,
  dropPostgresSchema,
  dropRedisPrefix,
  randomSchema,
  redisUrl,
  requireService,
} from '../testing/services.js';

const pgUrl = databaseUrl();
const rUrl = redisUrl();

/** The hot points of the one series of `name` whose labels are exactly `labels`. */
function points(hub: Hub, name: string, labels: Record<string, string>): [number, number][] {
  const want = JSON.stringify(Object.entries(labels).sort());
  const series = hub.metricsService.registry
    .ofMetric(name)
    .filter((s) => JSON.stringify(Object.entries(s.labels).sort()) === want);
  assert.equal(series.length, 1, `one series ${name}${want}`);
  const out: [number, number][] = [];
  series[0]!.ring.forEach(0, Number.MAX_SAFE_INTEGER, (ts, v) => out.push([ts, v]));
  return out;
}

async function clusterHost(h: RunningHub): Promise<string> {
  const res = await fetch(`${h.url}/api/v1/cluster`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { host: string }).host;
}

describe('the own host id and series label', () => {
  const raw = { ...toFleetConfigDefaults(), self_id: '' };
  test('a single node: the hostname, series unlabelled', () => {
    const c = toFleetConfig(raw);
    assert.equal(c.selfId, hostIdFromName(hostname()));
    assert.equal(c.ownHost, '');
  });
  test('a cluster node: its node_id (made a host id), else the hostname; self_id wins', () => {
    assert.deepEqual(pick(toFleetConfig(raw, { cluster: true, nodeId: 'node a.1' })), ['node-a-1', 'node-a-1']);
    const host = hostIdFromName(hostname());
    assert.deepEqual(pick(toFleetConfig(raw, { cluster: true, nodeId: undefined })), [host, host]);
    assert.deepEqual(pick(toFleetConfig({ ...raw, self_id: 'db-1' }, { cluster: true, nodeId: 'n1' })), [
      'db-1',
      'db-1',
    ]);
  });
});

function pick(c: { selfId: string; ownHost: string }): [string, string] {
  return [c.selfId, c.ownHost];
}

function toFleetConfigDefaults() {
  return {
    max_hosts: 1000,
    stale_after: '10s',
    down_after: '30s',
    check_interval: '1s',
    summary_interval: '10s',
    top: 5,
    self: true,
    self_id: '',
    alert_on_down: true,
    max_batch_samples: 5000,
  };
}

test('a single node keeps its own host series unlabelled', async () => {
  const h = await startHub({ metrics: { collect_interval: '200ms' } });
  try {
    assert.equal(await clusterHost(h), '');
    await until(
      () => h.hub.metricsService.list({ prefix: 'system.cpu.usage', labels: { host: '' } }).length > 0,
      10_000,
      'the unlabelled CPU series',
    );
    const labelled = h.hub.metricsService.list({ prefix: 'system.' }).filter((s) => s.labels.host !== undefined);
    assert.deepEqual(labelled, []);
    const self = h.hub.fleet.get(hostIdFromName(hostname()));
    assert.equal(self.source, 'hub');
    await until(() => h.hub.fleet.get(self.id).summary?.cpu_percent != null, 10_000, 'the self summary');
  } finally {
    await h.stop();
  }
});

if ((await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl))) {
  describe('cluster nodes label their own host series', () => {
    const schema = randomSchema();
    const prefix = `vigil-test:hostseries:${randomBytes(6).toString('hex')}:`;
    const common = {
      broker: { engine: 'redis', url: rUrl, prefix },
      store: { engine: 'postgres', url: pgUrl, schema, pool_size: 4 },
      dashboard: { enabled: false },
      // No checkpoint while the test runs: the third node reads the others' samples from their pending rows.
      metrics: { collect_interval: '200ms', flush_interval: '100ms', checkpoint_interval: '1h' },
      fleet: { check_interval: '200ms' },
    };
    const hubs: RunningHub[] = [];

    before(async () => {
      hubs.push(
        ...(await Promise.all([
          startHub({ ...common, node_id: 'node-a' }),
          startHub({ ...common, node_id: 'node-b' }),
        ])),
      );
    });

    after(async () => {
      for (const h of hubs) await h.stop();
      await dropPostgresSchema(pgUrl, schema);
      await dropRedisPrefix(rUrl, prefix);
    });

    test("each node's series carry its host id, are stored apart and read from another node", async () => {
      const [a, b] = hubs as [RunningHub, RunningHub];
      assert.equal(await clusterHost(a), 'node-a');
      assert.equal(await clusterHost(b), 'node-b');
      for (const [h, id] of [
        [a, 'node-a'],
        [b, 'node-b'],
      ] as const) {
        await until(
          () => points(h.hub, 'system.cpu.usage', { cpu: 'total', host: id }).length >= 5,
          10_000,
          `${id}'s CPU samples on ${id}`,
        );
        assert.deepEqual(
          h.hub.metricsService.list({ prefix: 'system.', labels: { host: '' } }),
          [],
          `no unlabelled host series on ${id}`,
        );
        // Fleet lists the node's own machine under the id its series carry, with a summary read from them.
        await until(() => h.hub.fleet.get(id).summary?.cpu_percent != null, 10_000, `the summary of ${id} on ${id}`);
        assert.equal(h.hub.fleet.get(id).source, 'hub');
      }
      // Each node lists the other's machine, under the same id.
      await until(() => a.hub.fleet.size >= 2 && b.hub.fleet.size >= 2, 10_000, 'both hub hosts on both nodes');
      assert.deepEqual([a.hub.fleet.get('node-b').node, b.hub.fleet.get('node-a').node], ['node-b', 'node-a']);
      // The leader takes the follower's series as they came (labelled at the source, not relabelled).
      await until(() => a.hub.isLeading() !== b.hub.isLeading(), 30_000, 'one leader of the two');
      const [leader, follower] = a.hub.isLeading() ? [a, b] : [b, a];
      const followerId = follower.hub.config.nodeId;
      await until(
        () => leader.hub.metricsService.list({ prefix: 'system.', labels: { host: followerId } }).length > 0,
        30_000,
        "the follower's host series on the leader",
      );

      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        const rows = await client.query<{ labels: Record<string, string> | string }>(
          `SELECT labels FROM ${schema}.metric_series WHERE name = 'system.cpu.usage'`,
        );
        const hosts = rows.rows.map((r) => (typeof r.labels === 'string' ? JSON.parse(r.labels) : r.labels).host);
        assert.ok(hosts.length > 0);
        assert.deepEqual([...new Set(hosts)].sort(), ['node-a', 'node-b'], 'every stored CPU series has its node');
      } finally {
        await client.end();
      }

      // A third node loads the series from the store and refills its hot window from it (the other nodes' pending
      // rows): each node's series holds exactly the samples that node took, up to the newest one read.
      const c = await startHub({ ...common, node_id: 'node-c' });
      hubs.push(c);
      for (const [h, id] of [
        [a, 'node-a'],
        [b, 'node-b'],
      ] as const) {
        const read = points(c.hub, 'system.cpu.usage', { cpu: 'total', host: id });
        assert.ok(read.length >= 3, `${id}'s samples read on node-c: ${read.length}`);
        const newest = read[read.length - 1]![0];
        const own = points(h.hub, 'system.cpu.usage', { cpu: 'total', host: id }).filter(([ts]) => ts <= newest);
        assert.deepEqual(read, own, `${id}'s series on node-c is ${id}'s`);
      }
      assert.deepEqual(c.hub.metricsService.list({ prefix: 'system.', labels: { host: '' } }), []);
      await until(
        () => c.hub.metricsService.list({ prefix: 'system.cpu.usage', labels: { host: 'node-c' } }).length > 0,
        10_000,
        "node-c's own series",
      );
    });
  });
}
