/**
 * @module fleet-agents.test
 * `vigil agent` as real processes against a real hub (in this process, on a real port, with real SQLite files):
 * - three agents with distinct host ids stream to one hub; each host is `up` with live metrics; SIGKILL of one turns
 *   its host `stale` then `down` and fires its `host_down` alert; restarted, it is `up` again and the alert resolves;
 * - the hub stops while an agent keeps collecting; restarted on the same port and data, it receives every batch
 *   collected meanwhile, in order, with no duplicates (counted per series in the store).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HostData } from '@vigil/protocol';
import { Hub, loadConfig } from '@vigil/server';
import { CLI_MAIN, type Proc, spawnTs, until } from '../testing/cli-fixture.js';

const dirs: string[] = [];
function tempDir(what: string): string {
  const d = mkdtempSync(join(tmpdir(), `vigil-${what}-`));
  dirs.push(d);
  return d;
}

async function startHub(
  dataDir: string,
  port: number,
  fleet: Record<string, unknown>,
): Promise<{ hub: Hub; url: string }> {
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: {
      host: '127.0.0.1',
      port,
      data_dir: dataDir,
      log_level: 'silent',
      node_id: 'fleet-hub',
      metrics: { collect_interval: 0 },
      fleet: { self: false, ...fleet },
    },
  });
  const hub = await Hub.create(config);
  const { url } = await hub.listen();
  return { hub, url };
}

const agents: Proc[] = [];
function agent(url: string, hostId: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  const p = spawnTs(
    CLI_MAIN,
    [
      'agent',
      '--hub',
      url,
      '--interval',
      '250ms',
      '--heartbeat',
      '200ms',
      '--buffer-dir',
      tempDir(`agent-${hostId}`),
      ...extra,
    ],
    { VIGIL_AGENT_HOST_ID: hostId, ...env },
  );
  agents.push(p);
  return p;
}

async function stopAgent(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}

describe('vigil agent: real processes', () => {
  after(async () => {
    for (const p of agents) await stopAgent(p, 'SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('three agents stream; SIGKILL turns a host stale then down with its alert; a restart brings it back', async () => {
    const { hub, url } = await startHub(tempDir('fleet-hub'), 0, {
      stale_after: '1500ms',
      down_after: '3s',
      check_interval: '100ms',
      summary_interval: '500ms',
    });
    try {
      const procs = {
        'host-a': agent(url, 'host-a', ['--labels', 'role=web,dc=eu']),
        'host-b': agent(url, 'host-b', ['--labels', 'role=db']),
        'host-c': agent(url, 'host-c', [], { VIGIL_AGENT_LABELS: 'role=cache' }),
      };
      const host = (id: string): HostData | undefined => hub.fleet.list().find((h) => h.id === id);
      const live = (id: string, after: number) => {
        const h = host(id);
        return h?.status === 'up' && h.summary !== null && h.summary.ts > after && h.summary.cpu_percent !== null;
      };
      const t0 = Date.now();
      for (const id of Object.keys(procs)) {
        await until(
          () => live(id, t0),
          30_000,
          `${id} up with metrics (stderr: ${procs[id as 'host-a'].err().slice(-400)})`,
        );
      }
      assert.deepEqual(
        hub.fleet.list().map((h) => [h.id, h.status, h.source, h.labels]),
        [
          ['host-a', 'up', 'agent', { role: 'web', dc: 'eu' }],
          ['host-b', 'up', 'agent', { role: 'db' }],
          ['host-c', 'up', 'agent', { role: 'cache' }],
        ],
      );
      const info = host('host-a')!.info!;
      assert.ok(info.cores > 0 && info.memory_bytes > 0 && info.kernel !== '' && info.boot_time > 0);
      // The samples are stored per host, with the host's labels.
      const cpu = hub.metricsService.current({ prefix: 'system.cpu.usage', labels: { cpu: 'total', host: 'host-b' } });
      assert.equal(cpu.length, 1);
      assert.equal(cpu[0]!.labels.role, 'db');
      // Live: the figures keep coming.
      const t1 = Date.now();
      await until(() => ['host-a', 'host-b', 'host-c'].every((id) => live(id, t1)), 30_000, 'newer batches');

      await stopAgent(procs['host-b'], 'SIGKILL');
      await until(() => host('host-b')?.status === 'stale', 30_000, 'host-b stale');
      assert.equal(host('host-a')?.status, 'up');
      await until(() => host('host-b')?.status === 'down', 30_000, 'host-b down');
      const alert = () => hub.alerts.activeAlerts().find((a) => a.rule === 'host_down' && a.labels.host === 'host-b');
      await until(() => alert()?.status === 'firing', 30_000, 'the host_down alert');
      assert.equal(alert()!.labels.role, 'db');
      assert.equal(hub.alerts.activeAlerts().filter((a) => a.rule === 'host_down').length, 1, 'only host-b');
      assert.deepEqual(
        ['host-a', 'host-c'].map((id) => host(id)?.status),
        ['up', 'up'],
      );

      const again = agent(url, 'host-b', ['--labels', 'role=db']);
      const t2 = Date.now();
      await until(() => live('host-b', t2), 30_000, `host-b up again (stderr: ${again.err().slice(-400)})`);
      await until(() => alert() === undefined, 30_000, 'the alert resolved');
      for (const p of [procs['host-a'], procs['host-c'], again]) await stopAgent(p);
    } finally {
      await hub.stop();
    }
  });

  test('the hub stops while the agent collects; restarted, it gets every batch, in order, once', async () => {
    const outageMs = Number(process.env.VIGIL_TEST_OUTAGE_MS ?? 6_000);
    const dataDir = tempDir('fleet-hub-restart');
    let running = await startHub(dataDir, 0, {});
    const port = Number(new URL(running.url).port);
    const p = agent(running.url, 'host-r', ['--interval', '200ms']);
    const series = () =>
      running.hub.metricsService.registry.ofMetric('system.memory.total_bytes').find((s) => s.labels.host === 'host-r');
    try {
      await until(() => series() !== undefined, 30_000, `the first batch (stderr: ${p.err().slice(-400)})`);
      const beforeStop = series()!.lastTs;
      await running.hub.stop();
      await until(() => /hub unreachable/.test(p.err()), 30_000, 'the agent to notice');
      await new Promise((r) => setTimeout(r, outageMs));
      running = await startHub(dataDir, port, {});
      // The agent reconnects and back-fills; then stop it cleanly and count what it sent.
      const resumed = Date.now();
      await until(
        () => (series()?.lastTs ?? 0) > resumed,
        30_000,
        `live batches after the back-fill (stderr: ${p.err().slice(-400)})`,
      );
      await stopAgent(p);
      const summary =
        /stopped: (\d+) batches sent \((\d+) already taken\), (\d+) left in the buffer, (\d+) dropped/.exec(p.err());
      assert.ok(summary, p.err());
      const [sent, taken, left, dropped] = summary.slice(1).map(Number) as [number, number, number, number];
      assert.equal(dropped, 0);
      const s = series()!;
      const raw = await running.hub.metricsService.query.raw(s, 0, Date.now() + 1000);
      const ts = Array.from(raw.ts);
      assert.equal(new Set(ts).size, ts.length, 'no duplicates');
      for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! > ts[i - 1]!, 'in order');
      // Every batch acknowledged is stored once; one re-sent after a lost reply is acknowledged as already taken.
      assert.equal(ts.length, sent - taken, `${ts.length} stored, ${sent} sent, ${taken} already taken, ${left} left`);
      // The outage is covered: no hole much longer than the collect interval around it.
      const during = ts.filter((t) => t > beforeStop && t < resumed);
      assert.ok(during.length >= Math.floor(outageMs / 200) - 2, `${during.length} samples during the outage`);
      let widest = 0;
      for (let i = 1; i < ts.length; i++) widest = Math.max(widest, ts[i]! - ts[i - 1]!);
      assert.ok(widest < 2_000, `widest hole ${widest} ms`);
    } finally {
      await stopAgent(p, 'SIGKILL');
      await running.hub.stop();
    }
  });
});
