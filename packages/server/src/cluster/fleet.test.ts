/**
 * @module cluster/fleet.test
 * Two hub nodes on one Redis (random key prefix) and one PostgreSQL schema, as in docs/cluster.md, with agents on
 * each: every node lists every agent (REST, `hosts.get`, the `nodes`, `resources` and `topology` snapshots), each
 * with the hub node it reports to; a host's status moves on both nodes when its agent falls silent; the fleet
 * channels carry one event per change (not one per node); an agent that moves to the other node is shown there; a
 * host removed on one node leaves both.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  type HostData,
  type NodesSummaryData,
  type ResourcesData,
  SUBPROTOCOL_MSGPACK,
  type TopologyData,
} from '@vigil/protocol';
import { type Frame, type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';
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

function registration(hostname: string) {
  return {
    hostname,
    machine_id: `m-${hostname}`,
    os: 'Linux',
    kernel: '6.1.0',
    arch: 'x64',
    cores: 2,
    memory_bytes: 4e9,
    boot_time: 1_700_000_000_000,
    agent_version: '0.1.0',
    interval_ms: 200,
    labels: { role: hostname.startsWith('web') ? 'web' : 'db' },
  };
}

/** A simulated agent: registers, then publishes one batch every 200 ms until stopped. */
class SimAgent {
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    readonly id: string,
    readonly client: TestClient,
  ) {}

  static async start(wsUrl: string, id: string, cpu: number): Promise<SimAgent> {
    const client = await TestClient.connect(wsUrl, SUBPROTOCOL_MSGPACK);
    const a = new SimAgent(id, client);
    await a.publish('agent_register', registration(id));
    await a.publish('agent_samples', a.batch(cpu));
    a.timer = setInterval(() => void a.publish('agent_samples', a.batch(cpu)).catch(() => {}), 200);
    return a;
  }

  private batch(cpu: number) {
    return {
      ts: Date.now(),
      samples: [
        { name: 'system.cpu.usage', value: cpu, labels: { cpu: 'total' } },
        { name: 'system.memory.used_percent', value: 30 + cpu / 10 },
        { name: 'system.disk.used_percent', value: 50, labels: { mount: '/' } },
      ],
    };
  }

  async publish(kind: string, data: unknown): Promise<void> {
    const r = await this.client.request({ op: 'publish', channel: `hosts.${this.id}`, kind, data });
    assert.equal(r.ok, true, JSON.stringify(r.error));
  }

  stop(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}

async function hosts(h: RunningHub): Promise<HostData[]> {
  const res = await fetch(`${h.url}/api/v1/hosts`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { hosts: HostData[] }).hosts;
}

async function snapshot<T>(h: RunningHub, channel: string): Promise<T> {
  const c = await TestClient.connect(h.wsUrl);
  try {
    await c.request({ op: 'subscribe', channels: [channel], mode: 'latest' });
    const f = await c.next((x) => x.type === 'snapshot' && x.channel === channel);
    return f.data as T;
  } finally {
    c.close();
  }
}

const placement = (list: HostData[]) =>
  list
    .filter((x) => x.source === 'agent')
    .map((x) => [x.id, x.node, x.status])
    .sort();

if ((await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl))) {
  const schema = randomSchema();
  const prefix = `vigil-test:fleet:${randomBytes(6).toString('hex')}:`;
  let a: RunningHub;
  let b: RunningHub;
  const agents: SimAgent[] = [];

  before(async () => {
    const common = {
      broker: { engine: 'redis', url: rUrl, prefix },
      store: { engine: 'postgres', url: pgUrl, schema, pool_size: 4 },
      dashboard: { enabled: false },
      metrics: { collect_interval: '1s' },
    };
    const fleet = { stale_after: '1500ms', down_after: '3s', check_interval: '100ms', summary_interval: '300ms' };
    [a, b] = await Promise.all([
      startHub({ ...common, node_id: 'node-a', fleet: { ...fleet, self_id: 'hub-a' } }),
      startHub({ ...common, node_id: 'node-b', fleet: { ...fleet, self_id: 'hub-b' } }),
    ]);
  });

  after(async () => {
    for (const x of agents) x.stop();
    await a?.stop();
    await b?.stop();
    await dropPostgresSchema(pgUrl, schema);
    await dropRedisPrefix(rUrl, prefix);
  });

  test('agents on either node appear on both, with the node they report to', async () => {
    // A watcher on each node of the `nodes` channel, from before the agents came.
    const watchers = await Promise.all([TestClient.connect(a.wsUrl), TestClient.connect(b.wsUrl)]);
    for (const w of watchers) await w.request({ op: 'subscribe', channels: ['nodes', 'topology'] });
    try {
      agents.push(await SimAgent.start(a.wsUrl, 'web-1', 20));
      agents.push(await SimAgent.start(a.wsUrl, 'web-2', 60));
      agents.push(await SimAgent.start(b.wsUrl, 'db-1', 90));
      const expected = [
        ['db-1', 'node-b', 'up'],
        ['web-1', 'node-a', 'up'],
        ['web-2', 'node-a', 'up'],
      ];
      for (const h of [a, b]) {
        let seen: unknown;
        await until(
          async () => {
            seen = placement(await hosts(h));
            return JSON.stringify(seen) === JSON.stringify(expected);
          },
          20_000,
          'every agent listed',
        ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(seen)}`));
      }
      // Both hub machines are hosts of both nodes too.
      for (const h of [a, b]) {
        await until(
          async () => {
            const ids = (await hosts(h)).filter((x) => x.source === 'hub').map((x) => [x.id, x.node]);
            return (
              JSON.stringify(ids.sort()) ===
              JSON.stringify([
                ['hub-a', 'node-a'],
                ['hub-b', 'node-b'],
              ])
            );
          },
          20_000,
          'both hub machines listed',
        );
      }
      // The description, labels and summary travel with the host.
      for (const h of [a, b]) {
        await until(() => h.hub.fleet.get('db-1').summary?.cpu_percent === 90, 20_000, "db-1's summary");
        const db = h.hub.fleet.get('db-1');
        assert.equal(db.info?.hostname, 'db-1');
        assert.deepEqual(db.labels, { role: 'db' });
        const web = (await fetch(`${h.url}/api/v1/hosts/web-2`).then((r) => r.json())) as HostData;
        assert.equal(web.node, 'node-a');
        assert.equal(web.summary?.cpu_percent, 60);
      }

      // The snapshots of every node show the whole fleet.
      for (const h of [a, b]) {
        await until(
          async () => {
            const topo = await snapshot<TopologyData | null>(h, 'topology');
            const placed = (topo?.agents ?? [])
              .filter((x) => x.source === 'agent')
              .map((x) => [x.host, x.node])
              .sort();
            const nodes = (topo?.nodes ?? []).map((n) => n.id).sort();
            return (
              JSON.stringify(placed) ===
                JSON.stringify([
                  ['db-1', 'node-b'],
                  ['web-1', 'node-a'],
                  ['web-2', 'node-a'],
                ]) && JSON.stringify(nodes) === JSON.stringify(['node-a', 'node-b'])
            );
          },
          20_000,
          'the topology snapshot',
        );
        const summary = await snapshot<NodesSummaryData>(h, 'nodes');
        assert.deepEqual(
          summary.hosts.map((x) => x.id),
          ['db-1', 'hub-a', 'hub-b', 'web-1', 'web-2'],
        );
        let res: ResourcesData | undefined;
        await until(
          async () => {
            res = await snapshot<ResourcesData>(h, 'resources');
            const cpu = Object.fromEntries(res.hosts.map((x) => [x.id, x.summary?.cpu_percent]));
            return cpu['db-1'] === 90 && cpu['web-1'] === 20 && cpu['web-2'] === 60 && res.top.cpu.includes('db-1');
          },
          20_000,
          'resources',
        ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(res)}`));
      }

      // One event per change on the shared channels, whichever node the subscriber is on.
      for (const w of watchers) {
        await until(
          () =>
            w
              .events('nodes')
              .filter((f: Frame) => f.kind === 'host_status')
              .some((f) => (f.data as { host: HostData }).host.id === 'db-1'),
          20_000,
          'the host_status of db-1',
        );
        const news = w
          .events('nodes')
          .filter((f: Frame) => f.kind === 'host_status' && (f.data as { previous: unknown }).previous === null)
          .map((f) => (f.data as { host: HostData }).host.id)
          .filter((id) => !id.startsWith('hub-'))
          .sort();
        assert.deepEqual(news, ['db-1', 'web-1', 'web-2'], 'each new host announced once');
      }
    } finally {
      for (const w of watchers) w.close();
    }
  });

  test('silence on one node is seen on both; an agent that moves is shown on its new node', async () => {
    const db = agents.find((x) => x.id === 'db-1')!;
    db.stop();
    for (const h of [a, b]) await until(() => h.hub.fleet.get('db-1').status === 'down', 30_000);
    assert.equal(a.hub.fleet.get('web-1').status, 'up');

    // db-1 comes back, on node A this time.
    const moved = await SimAgent.start(a.wsUrl, 'db-1', 80);
    agents.push(moved);
    for (const h of [a, b]) {
      await until(() => {
        const x = h.hub.fleet.get('db-1');
        return x.status === 'up' && x.node === 'node-a';
      }, 20_000);
    }
    await until(async () => {
      const topo = await snapshot<TopologyData | null>(b, 'topology');
      return topo?.agents.find((x) => x.host === 'db-1')?.node === 'node-a';
    }, 20_000);
  });

  test('a host removed on one node leaves both', async () => {
    const gone = agents.find((x) => x.id === 'web-2')!;
    gone.stop();
    for (const h of [a, b])
      await until(() => h.hub.fleet.get('web-2').status !== 'up', 20_000, `${h.hub.config.nodeId} to see web-2 silent`);
    const res = await fetch(`${b.url}/api/v1/hosts/web-2`, { method: 'DELETE' });
    assert.ok(res.status === 200 || res.status === 204, `DELETE: ${res.status}`);
    for (const h of [a, b])
      await until(
        async () => !(await hosts(h)).some((x) => x.id === 'web-2'),
        20_000,
        `${h.hub.config.nodeId} to forget web-2`,
      );
  });
}
