/**
 * @module cluster/leader.test
 * Leader duties with real processes: three `vigil serve` nodes sharing Redis (a random key prefix) and PostgreSQL
 * (a random schema, dropped after). A sample posted to a follower crosses a rule: exactly one `alert` event
 * cluster-wide and exactly one webhook delivery. SIGKILL the leader: another node takes the lease and evaluates
 * rules, the firing alert carries over without a second webhook, and a new crossing gives exactly one new alert and
 * one new webhook; acknowledgements of an alert and of an incident sent to a follower reach the leader.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClusterNode } from '@vigil/protocol';
import { RecordingServer } from '../notify/test-support.js';
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

const pgUrl = databaseUrl();
const rUrl = redisUrl();

interface AlertEvent {
  offset: number;
  rule: string;
  status: string;
  host: string | undefined;
}

if ((await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl))) {
  const schema = randomSchema();
  const prefix = `vigil-test:leader:${randomBytes(6).toString('hex')}:`;
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

  async function postSample(node: Node, host: string, value: number): Promise<void> {
    const res = await fetch(`${node.url}/api/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'leader.temp', value, labels: { host } }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  function alertEvents(): AlertEvent[] {
    const seen = new Map<number, AlertEvent>();
    for (const f of watcher?.frames ?? []) {
      if (f.type !== 'event' || f.channel !== 'alerts') continue;
      const d = f.data as { rule: string; status: string; labels: Record<string, string> };
      seen.set(f.offset as number, { offset: f.offset as number, rule: d.rule, status: d.status, host: d.labels.host });
    }
    return [...seen.values()];
  }

  const firing = (host: string) =>
    alertEvents().filter((e) => e.rule === 'LeaderHot' && e.host === host && e.status === 'firing');

  function webhookHosts(): string[] {
    return hook.requests.flatMap((r) =>
      ((r.body as { alerts?: { labels: Record<string, string> }[] }).alerts ?? []).map((a) => a.labels.host ?? ''),
    );
  }

  before(async () => {
    await hook.start();
    dir = mkdtempSync(join(tmpdir(), 'vigil-leader-'));
    const config = join(dir, 'node.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        metrics: { collect_interval: 0 },
        dashboard: { enabled: false },
        alerts: {
          evaluation_interval: '200ms',
          rules: [
            {
              name: 'LeaderHot',
              kind: 'threshold',
              metric: 'leader.temp',
              op: '>',
              threshold: 50,
              severity: 'critical',
            },
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
      const id = `lead-${i}`;
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

  test('one alert and one webhook cluster-wide; after SIGKILL of the leader another node evaluates, no duplicate', async () => {
    const first = await leader();
    const followers = live().filter((n) => n !== first);
    // The watcher sits on a follower that survives: `alerts` events from any node reach it through Redis.
    const [b, c] = followers as [Node, Node];
    watcher = await TestClient.connect(`${c.url.replace('http', 'ws')}/ws`);
    await watcher.request({ op: 'subscribe', channels: ['alerts'] });

    // A sample posted to follower B crosses the rule: the leader evaluates it.
    await postSample(b, 'h1', 80);
    await until(() => firing('h1').length >= 1 && hook.requests.length >= 1, 30_000, 'the alert and its webhook');
    // More crossing samples through every node change nothing: the alert is already firing.
    for (const n of live()) await postSample(n, 'h1', 85);
    await sleep(1500);
    assert.equal(firing('h1').length, 1, 'exactly one alert event cluster-wide');
    assert.deepEqual(webhookHosts(), ['h1'], 'exactly one webhook delivery');

    // SIGKILL the leader: another node takes the lease.
    const killedAt = Date.now();
    first.alive = false;
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    const next = await leader();
    const takeoverMs = Date.now() - killedAt;
    assert.notEqual(next.id, first.id);
    process.stdout.write(`# leader ${first.id} killed; ${next.id} took the lease after ${takeoverMs} ms\n`);

    // The new leader evaluates: h1 carried over (no new event, no new webhook), h2 fires once.
    await postSample(b, 'h1', 90);
    await postSample(c, 'h2', 95);
    await until(() => firing('h2').length >= 1 && webhookHosts().includes('h2'), 30_000, 'h2 through the new leader');
    for (const n of live()) await postSample(n, 'h2', 99);
    await sleep(1500);
    assert.equal(firing('h2').length, 1, 'exactly one alert event for h2');
    assert.equal(firing('h1').length, 1, 'h1 was not raised again');
    assert.deepEqual(webhookHosts().sort(), ['h1', 'h2'], 'one webhook each, none repeated');

    const active = (await (await fetch(`${next.url}/api/v1/alerts?active=true`)).json()) as {
      alerts: { labels: Record<string, string>; status: string }[];
    };
    assert.deepEqual(
      active.alerts.map((a) => [a.labels.host, a.status]).sort(),
      [
        ['h1', 'firing'],
        ['h2', 'firing'],
      ],
      'the new leader holds both alerts',
    );

    // An acknowledgement sent to a follower reaches the leader, which publishes it once.
    const follower = live().find((n) => n !== next)!;
    const h2 = (await (await fetch(`${follower.url}/api/v1/alerts?rule=LeaderHot&state=firing`)).json()) as {
      alerts: { id: string; labels: Record<string, string> }[];
    };
    const h2Id = h2.alerts.find((x) => x.labels.host === 'h2')!.id;
    const acked = await fetch(`${follower.url}/api/v1/alerts/${h2Id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ana', comment: 'on it' }),
    });
    assert.equal(acked.status, 200, await acked.text());
    await until(
      async () => {
        const res = await fetch(`${next.url}/api/v1/alerts?active=true`);
        const list = ((await res.json()) as { alerts: { id: string; acknowledged_by?: string }[] }).alerts;
        return list.find((x) => x.id === h2Id)?.acknowledged_by === 'ana';
      },
      30_000,
      'the leader to hold the acknowledgement',
    );
    const ackEvents = () =>
      watcher!.frames.filter(
        (f) =>
          f.type === 'event' &&
          f.channel === 'alerts' &&
          (f.data as { id: string; acknowledged_by?: string }).id === h2Id &&
          (f.data as { acknowledged_by?: string }).acknowledged_by === 'ana',
      );
    await until(() => ackEvents().length >= 1, 30_000, 'the acknowledgement event');
    await sleep(1000);
    assert.equal(new Set(ackEvents().map((f) => f.offset)).size, 1, 'one acknowledgement event');

    // The leader opened one incident for the rule; acknowledged through a follower, the leader's copy follows.
    const incidents = (await (await fetch(`${follower.url}/api/v1/incidents`)).json()) as {
      incidents: { id: string; title: string; status: string }[];
    };
    const hot = incidents.incidents.filter((i) => i.title.startsWith('LeaderHot'));
    assert.equal(hot.length, 1, 'one incident cluster-wide');
    const incAck = await fetch(`${follower.url}/api/v1/incidents/${hot[0]!.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ana' }),
    });
    assert.equal(incAck.status, 200, await incAck.text());
    await until(
      async () => {
        const res = await fetch(`${next.url}/api/v1/incidents/${hot[0]!.id}`);
        return ((await res.json()) as { status: string }).status === 'acknowledged';
      },
      30_000,
      "the leader's working set to take the acknowledgement",
    );
  });
}
