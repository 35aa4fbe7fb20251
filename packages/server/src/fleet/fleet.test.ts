/**
 * @module fleet.test
 * The host registry over a real hub: agents publish to `hosts.<id>` over real WebSockets (MessagePack), hosts appear
 * with their summary over REST and `hosts.*` calls, the fleet channels have snapshots, silence moves a host to
 * `stale` then `down` (raising `host_down`) and a report brings it back, the registry is bounded by
 * `fleet.max_hosts`, survives a restart, validates what agents send, and a credential limited to `hosts.<id>` may
 * publish for that host only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type HostData, SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import { type Frame, type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';

const REG = {
  hostname: 'web-1.example',
  machine_id: 'abc123',
  os: 'Linux',
  kernel: '6.1.0',
  arch: 'x64',
  cores: 4,
  memory_bytes: 8e9,
  boot_time: 1_700_000_000_000,
  agent_version: '0.1.0',
  interval_ms: 1000,
  labels: { role: 'web', dc: 'eu' },
};

function batch(ts: number, cpu: number) {
  return {
    ts,
    samples: [
      { name: 'system.cpu.usage', value: cpu, labels: { cpu: 'total' } },
      { name: 'system.memory.used_percent', value: 40 },
      { name: 'system.disk.used_percent', value: 70, labels: { mount: '/' } },
      { name: 'system.disk.used_percent', value: 20, labels: { mount: '/data' } },
      { name: 'system.net.rx_bytes_per_s', value: 100, labels: { interface: 'eth0' } },
      { name: 'system.net.rx_bytes_per_s', value: 50, labels: { interface: 'eth1' } },
    ],
  };
}

async function ok(c: TestClient, frame: Record<string, unknown>): Promise<Frame> {
  const r = await c.request(frame);
  assert.equal(r.ok, true, JSON.stringify(r.error));
  return r;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

const FAST = { stale_after: '300ms', down_after: '700ms', check_interval: '50ms', summary_interval: '200ms' };

describe('fleet: the host registry', () => {
  const hubs: RunningHub[] = [];
  after(async () => {
    for (const h of hubs) await h.stop();
  });

  test('an agent registers and streams; the host is listed up with its summary, its samples stored by host', async () => {
    const h = await startHub({ metrics: { collect_interval: '200ms' }, fleet: { self_id: 'the-hub' } });
    hubs.push(h);
    const agent = await TestClient.connect(h.wsUrl, SUBPROTOCOL_MSGPACK);
    assert.equal(agent.ws.protocol, SUBPROTOCOL_MSGPACK);
    await ok(agent, { op: 'publish', channel: 'hosts.web-1', kind: 'agent_register', data: REG });
    const t0 = Date.now();
    const r = await ok(agent, { op: 'publish', channel: 'hosts.web-1', kind: 'agent_samples', data: batch(t0, 12.5) });
    assert.equal((r.result as { offset: number }).offset, 6, 'six samples stored');
    // A re-sent batch (its reply lost) is acknowledged and dropped.
    const again = await ok(agent, {
      op: 'publish',
      channel: 'hosts.web-1',
      kind: 'agent_samples',
      data: batch(t0, 12.5),
    });
    assert.equal((again.result as { offset: number }).offset, 0);

    const { status, body } = await getJson<HostData>(`${h.url}/api/v1/hosts/web-1`);
    assert.equal(status, 200);
    assert.equal(body.status, 'up');
    assert.equal(body.source, 'agent');
    assert.deepEqual(body.labels, { role: 'web', dc: 'eu' });
    assert.equal(body.info?.hostname, 'web-1.example');
    assert.equal(body.info?.cores, 4);
    assert.equal(body.summary?.cpu_percent, 12.5);
    assert.equal(body.summary?.disk_used_percent, 70, 'the fullest filesystem');
    assert.equal(body.summary?.net_rx_bytes_per_s, 150, 'every interface');
    assert.equal(body.node, 'test-node');

    const stored = h.hub.metricsService.current({ prefix: 'system.cpu.usage', labels: { host: 'web-1' } });
    assert.deepEqual(stored, [
      {
        metric: 'system.cpu.usage',
        labels: { cpu: 'total', role: 'web', dc: 'eu', host: 'web-1' },
        ts: t0,
        value: 12.5,
      },
    ]);
    const raw = await h.hub.metricsService.query.run('system.cpu.usage', {
      from: t0 - 1000,
      to: t0 + 1000,
      labels: { host: 'web-1' },
    });
    assert.equal(JSON.stringify(raw).match(/12\.5/g)?.length, 1, 'the re-sent batch was not stored twice');

    // The hub's own machine is a host too, with the summary of its own collector only.
    await until(() => h.hub.fleet.get('the-hub').summary?.memory_used_percent != null, 30_000, "the hub's summary");
    const list = await getJson<{ hosts: HostData[] }>(`${h.url}/api/v1/hosts`);
    assert.deepEqual(
      list.body.hosts.map((x) => [x.id, x.source, x.status]),
      [
        ['the-hub', 'hub', 'up'],
        ['web-1', 'agent', 'up'],
      ],
    );
    const hubCpu = h.hub.fleet.get('the-hub').summary?.cpu_percent;
    assert.notEqual(hubCpu, undefined);
    const filtered = await getJson<{ hosts: HostData[] }>(`${h.url}/api/v1/hosts?label=role=web`);
    assert.deepEqual(
      filtered.body.hosts.map((x) => x.id),
      ['web-1'],
    );
    const missing = await getJson<{ error: { code: string } }>(`${h.url}/api/v1/hosts/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');

    // system.status stays the hub's own: the agent's 12.5 % and its interfaces are not mixed in.
    const statusNow = h.hub.metricsService.publishStatus() as { disk: { mount: string }[] };
    assert.ok(!statusNow.disk.some((d) => d.mount === '/data'), JSON.stringify(statusNow.disk));

    // Calls and snapshots.
    const reader = await TestClient.connect(h.wsUrl);
    const got = await ok(reader, { op: 'call', method: 'hosts.get', params: { id: 'web-1' } });
    assert.equal((got.result as HostData).summary?.cpu_percent, 12.5);
    const listed = await ok(reader, { op: 'call', method: 'hosts.list', params: { status: 'up' } });
    assert.equal((listed.result as { hosts: HostData[] }).hosts.length, 2);
    const bad = await reader.request({ op: 'call', method: 'hosts.get', params: {} });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    await ok(reader, { op: 'subscribe', channels: ['nodes', 'resources', 'topology'] });
    const snap = (ch: string) => reader.next((f) => f.type === 'snapshot' && f.channel === ch);
    const nodes = (await snap('nodes')).data as { counts: { up: number } };
    assert.equal(nodes.counts.up, 2);
    const res = (await snap('resources')).data as { top: { cpu: string[] } };
    assert.ok(res.top.cpu.includes('web-1'));
    const topo = (await snap('topology')).data as { nodes: { id: string }[]; agents: { host: string; node: string }[] };
    assert.deepEqual(
      topo.nodes.map((n) => n.id),
      ['test-node'],
    );
    assert.ok(topo.agents.some((a) => a.host === 'web-1' && a.node === 'test-node'));
    // Periodic summaries follow.
    await reader.next((f) => f.type === 'event' && f.channel === 'resources' && f.kind === 'resources');
    await reader.next((f) => f.type === 'event' && f.channel === 'nodes' && f.kind === 'nodes_summary');
    agent.close();
    reader.close();
  });

  test('silence turns a host stale then down with a host_down alert; a report brings it up and resolves it', async () => {
    const h = await startHub({ metrics: { collect_interval: 0 }, fleet: { ...FAST, self: false } });
    hubs.push(h);
    const watcher = await TestClient.connect(h.wsUrl);
    await ok(watcher, { op: 'subscribe', channels: ['nodes', 'alerts'] });
    const agent = await TestClient.connect(h.wsUrl, SUBPROTOCOL_MSGPACK);
    await ok(agent, { op: 'publish', channel: 'hosts.db-1', kind: 'agent_register', data: REG });
    const statuses = () =>
      watcher
        .events('nodes')
        .filter((e) => e.kind === 'host_status')
        .map((e) => (e.data as { host: HostData }).host.status);
    await until(() => statuses().includes('down'), 30_000, 'down');
    assert.deepEqual(statuses(), ['up', 'stale', 'down']);
    const firing = h.hub.alerts.activeAlerts().filter((a) => a.rule === 'host_down');
    assert.equal(firing.length, 1);
    assert.equal(firing[0]!.labels.host, 'db-1');
    assert.equal(firing[0]!.labels.role, 'web', "the host's labels, so rules and silences can scope by them");
    await watcher.next(
      (f) => f.type === 'event' && f.channel === 'alerts' && (f.data as { rule: string }).rule === 'host_down',
    );

    await ok(agent, { op: 'publish', channel: 'hosts.db-1', kind: 'agent_heartbeat', data: null });
    await until(() => statuses().at(-1) === 'up', 30_000, 'up again');
    assert.equal(h.hub.fleet.get('db-1').status, 'up');
    assert.equal(h.hub.alerts.activeAlerts().filter((a) => a.rule === 'host_down').length, 0, 'resolved');
    agent.close();
    watcher.close();
  });

  test('the registry holds at most fleet.max_hosts hosts; removing one frees its place', async () => {
    const h = await startHub({ metrics: { collect_interval: 0 }, fleet: { self: false, max_hosts: 2 } });
    hubs.push(h);
    const c = await TestClient.connect(h.wsUrl);
    for (const id of ['a', 'b'])
      await ok(c, { op: 'publish', channel: `hosts.${id}`, kind: 'agent_register', data: REG });
    const refused = await c.request({ op: 'publish', channel: 'hosts.c', kind: 'agent_heartbeat', data: null });
    assert.equal((refused.error as { code: string }).code, 'host_limit');
    assert.equal(h.hub.fleet.size, 2);
    // Known hosts keep reporting.
    await ok(c, { op: 'publish', channel: 'hosts.a', kind: 'agent_samples', data: batch(Date.now(), 1) });
    const del = await fetch(`${h.url}/api/v1/hosts/b`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    await ok(c, { op: 'publish', channel: 'hosts.c', kind: 'agent_register', data: REG });
    assert.deepEqual(
      h.hub.fleet.list().map((x) => x.id),
      ['a', 'c'],
    );
    c.close();
  });

  test('bad publishes get bad_request or invalid_channel, and the fleet channels are the hub’s own', async () => {
    const h = await startHub({ metrics: { collect_interval: 0 }, fleet: { self: false, max_batch_samples: 3 } });
    hubs.push(h);
    const c = await TestClient.connect(h.wsUrl, SUBPROTOCOL_MSGPACK);
    const code = async (frame: Record<string, unknown>) =>
      ((await c.request({ op: 'publish', ...frame })).error as { code: string; message: string } | undefined)?.code;
    assert.equal(await code({ channel: 'hosts.x', kind: 'other', data: {} }), 'bad_request');
    assert.equal(
      await code({ channel: 'hosts.x', kind: 'agent_register', data: { ...REG, cores: 'four' } }),
      'bad_request',
    );
    assert.equal(await code({ channel: 'hosts.x', kind: 'agent_register', data: { ...REG, extra: 1 } }), 'bad_request');
    const manyLabels = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'v']));
    assert.equal(
      await code({ channel: 'hosts.x', kind: 'agent_register', data: { ...REG, labels: manyLabels } }),
      'bad_request',
    );
    assert.equal(await code({ channel: 'hosts.x', kind: 'agent_samples', data: batch(Date.now(), 1) }), 'bad_request');
    assert.equal(
      await code({ channel: 'hosts.x', kind: 'agent_samples', data: { ts: 'now', samples: [] } }),
      'bad_request',
    );
    assert.equal(await code({ channel: 'hosts.x.y', kind: 'agent_heartbeat', data: null }), 'invalid_channel');
    assert.equal(
      await code({ channel: `hosts.${'h'.repeat(65)}`, kind: 'agent_heartbeat', data: null }),
      'invalid_channel',
    );
    for (const channel of ['nodes', 'resources', 'topology']) {
      assert.equal(await code({ channel, data: {} }), 'forbidden', channel);
    }
    // A batch whose samples break the metric rules is taken in part: the good samples are stored.
    const mixed = await c.request({
      op: 'publish',
      channel: 'hosts.x',
      kind: 'agent_samples',
      data: {
        ts: Date.now(),
        samples: [
          { name: 'bad..name', value: 1 },
          { name: 'ok.metric', value: 2 },
        ],
      },
    });
    assert.equal((mixed.result as { offset: number }).offset, 1);
    assert.equal(h.hub.fleet.samplesRejected, 1);
    assert.equal(h.hub.fleet.list().length, 1, 'only x, which sent a valid frame');
    c.close();
  });

  test('the registry survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-fleet-'));
    try {
      const first = await startHub({ metrics: { collect_interval: 0 }, fleet: { self: false } }, { dataDir: dir });
      const c = await TestClient.connect(first.wsUrl);
      await ok(c, { op: 'publish', channel: 'hosts.keep', kind: 'agent_register', data: REG });
      const ts = Date.now();
      await ok(c, { op: 'publish', channel: 'hosts.keep', kind: 'agent_samples', data: batch(ts, 33) });
      c.close();
      await first.stop();
      const second = await startHub({ metrics: { collect_interval: 0 }, fleet: { self: false } }, { dataDir: dir });
      try {
        const host = second.hub.fleet.get('keep');
        assert.equal(host.info?.hostname, 'web-1.example');
        assert.equal(host.summary?.cpu_percent, 33);
        assert.deepEqual(host.labels, REG.labels);
        // The batch taken before the restart is still known: re-sent, it is dropped.
        const c2 = await TestClient.connect(second.wsUrl);
        const r = await ok(c2, { op: 'publish', channel: 'hosts.keep', kind: 'agent_samples', data: batch(ts, 33) });
        assert.equal((r.result as { offset: number }).offset, 0);
        c2.close();
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a credential granted hosts.<id> publishes for that host only and reads nothing', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      fleet: { self: false },
      auth: {
        api_keys: [
          { key: 'agent-web-1-key-0123456789', name: 'agent-web-1', scopes: ['publish'], channels: ['hosts.web-1'] },
        ],
      },
    });
    hubs.push(h);
    const c = await TestClient.connect(`${h.wsUrl}?token=agent-web-1-key-0123456789`, SUBPROTOCOL_MSGPACK);
    await ok(c, { op: 'publish', channel: 'hosts.web-1', kind: 'agent_register', data: REG });
    await ok(c, { op: 'publish', channel: 'hosts.web-1', kind: 'agent_samples', data: batch(Date.now(), 5) });
    const other = await c.request({ op: 'publish', channel: 'hosts.web-2', kind: 'agent_register', data: REG });
    assert.equal((other.error as { code: string }).code, 'forbidden');
    const read = await c.request({ op: 'call', method: 'hosts.list' });
    assert.equal((read.error as { code: string }).code, 'forbidden');
    const metric = await c.request({ op: 'publish', channel: 'metrics.cpu', data: 1 });
    assert.equal((metric.error as { code: string }).code, 'forbidden');
    const rest = await fetch(`${h.url}/api/v1/hosts`, {
      headers: { authorization: 'Bearer agent-web-1-key-0123456789' },
    });
    assert.equal(rest.status, 403);
    c.close();
  });
});
