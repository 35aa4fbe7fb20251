/**
 * @module bench/agent/run
 * The fleet's costs, in one invocation, measured from `/proc`:
 * - `vigil agent` at a 1 s interval against a hub: its CPU (share of one core, from utime + stime) and RSS (median
 *   and peak of VmRSS sampled every second), side by side with a peer process, an idle `node` that only keeps a
 *   1 s timer, so the ratio shows what the agent adds to a bare Node.js process;
 * - the hub's ingest cost per agent: the hub's CPU and RSS with no agent, then with N simulated agents (default 100,
 *   one WebSocket each, MessagePack, registering and sending one real collector batch per second under its own
 *   host id); the cost per agent is the difference divided by N.
 *
 * Prints a table and writes `bench/results/agent-<timestamp>.json`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { codecForSubprotocol, SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import { SystemCollector } from '@vigil/server/collector';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    agents: { type: 'string', default: '100' },
    'hub-window': { type: 'string', default: '30' },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});
const durationS = Number(values.duration);
const simulated = Number(values.agents);
const hubWindowS = Number(values['hub-window']);
const TICK = 100; // getconf CLK_TCK on Linux

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Usage {
  cpu_percent_of_core: number;
  rss_median_mb: number;
  rss_peak_mb: number;
}

/** CPU share and RSS of each pid over `seconds`, sampled every second. */
async function measure(pids: number[], seconds: number): Promise<Usage[]> {
  const t0 = performance.now();
  const c0 = pids.map(cpuSeconds);
  const rss: number[][] = pids.map(() => []);
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    pids.forEach((p, k) => {
      rss[k]!.push(rssBytes(p));
    });
  }
  const dt = (performance.now() - t0) / 1000;
  return pids.map((p, k) => {
    const sorted = [...rss[k]!].sort((a, b) => a - b);
    return {
      cpu_percent_of_core: round(((cpuSeconds(p) - c0[k]!) / dt) * 100),
      rss_median_mb: round(sorted[Math.floor(sorted.length / 2)]! / 2 ** 20),
      rss_peak_mb: round(sorted.at(-1)! / 2 ** 20),
    };
  });
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Publishes the hub refused, by error code (the run fails unless this stays empty). */
const failures = new Map<string, number>();

const REG = {
  hostname: 'sim',
  machine_id: '',
  os: 'Linux',
  kernel: os.release(),
  arch: os.arch(),
  cores: os.cpus().length,
  memory_bytes: os.totalmem(),
  boot_time: Date.now() - os.uptime() * 1000,
  agent_version: 'bench',
  interval_ms: 1000,
};

/** One simulated agent: a WebSocket that registers, then publishes a batch every second, one in flight. */
async function simulatedAgent(wsUrl: string, id: string, batch: () => unknown, stop: AbortSignal): Promise<number> {
  const codec = codecForSubprotocol(SUBPROTOCOL_MSGPACK);
  const ws = new WebSocket(wsUrl, SUBPROTOCOL_MSGPACK);
  let next = 1;
  const waiting = new Map<number, () => void>();
  let welcomed: () => void = () => {};
  const welcome = new Promise<void>((r) => (welcomed = r));
  ws.on('message', (data: Buffer) => {
    const f = codec.decode(data) as {
      type: string;
      id?: number;
      ok?: boolean;
      error?: { code: string; message: string };
    };
    if (f.type === 'reply' && f.ok === false)
      failures.set(f.error?.code ?? '?', (failures.get(f.error?.code ?? '?') ?? 0) + 1);
    if (f.type === 'welcome') welcomed();
    if (f.type === 'reply' && typeof f.id === 'number') waiting.get(f.id)?.();
  });
  await welcome;
  const publish = (kind: string, data: unknown) =>
    new Promise<void>((r) => {
      const fid = next++;
      waiting.set(fid, () => {
        waiting.delete(fid);
        r();
      });
      ws.send(codec.encode({ op: 'publish', id: fid, channel: `hosts.${id}`, kind, data }), { binary: true });
    });
  await publish('agent_register', REG);
  let sent = 0;
  // Spread the agents over the second, as real ones are.
  await sleep(Math.random() * 1000);
  while (!stop.aborted) {
    const at = Date.now();
    await publish('agent_samples', batch());
    sent++;
    await sleep(Math.max(0, 1000 - (Date.now() - at)));
  }
  ws.close();
  return sent;
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(os.tmpdir(), 'vigil-bench-agent-'));
  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    host: os.hostname(),
    cores: os.cpus().length,
  };
  const hub = start(
    process.execPath,
    [join(root, 'packages/server/dist/cli/main.js'), 'serve', '--port', '0', '--data', join(data, 'hub')],
    {
      VIGIL_LOG_LEVEL: 'warn',
    },
  );
  const procs: Proc[] = [hub];
  try {
    const listening = /listening on (http:\/\/\S+)/;
    await waitFor(() => listening.test(hub.out()), `the hub (${hub.err().slice(-300)})`);
    const url = listening.exec(hub.out())![1]!;
    const hubPid = hub.child.pid!;

    // 1. The agent against a peer idle node process.
    const agent = start(process.execPath, [
      join(root, 'packages/cli/dist/main.js'),
      'agent',
      '--hub',
      url,
      '--interval',
      '1s',
      '--host-id',
      'bench-agent',
      '--buffer-dir',
      join(data, 'agent'),
    ]);
    const peer = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    procs.push(agent, peer);
    await waitFor(() => /connected to/.test(agent.err()), `the agent (${agent.err().slice(-300)})`);
    await sleep(5000);
    console.log(`measuring the agent and its peer for ${durationS} s ...`);
    const [a, p] = (await measure([agent.child.pid!, peer.child.pid!], durationS)) as [Usage, Usage];
    results.agent = a;
    results.peer_idle_node = p;
    results.agent_vs_peer = {
      rss_ratio: round(a.rss_median_mb / p.rss_median_mb),
      cpu_extra_percent_of_core: round(a.cpu_percent_of_core - p.cpu_percent_of_core),
    };
    agent.child.kill('SIGTERM');
    peer.child.kill('SIGTERM');

    // 2. The hub with no agent, then with N simulated agents.
    await sleep(3000);
    console.log(`measuring the hub alone for ${hubWindowS} s ...`);
    const [idle] = (await measure([hubPid], hubWindowS)) as [Usage];
    const collector = new SystemCollector({ includeProcess: false });
    collector.collect(Date.now());
    await sleep(1000);
    const template = collector
      .collect(Date.now())
      .map((x) =>
        Object.keys(x.labels).length > 0
          ? { name: x.name, value: x.value, labels: x.labels }
          : { name: x.name, value: x.value },
      );
    const batch = () => {
      const ts = Date.now();
      return { ts, samples: template.map((s) => ({ ...s, value: s.value + Math.random() })) };
    };
    const ac = new AbortController();
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    const runs = Array.from({ length: simulated }, (_, i) => simulatedAgent(wsUrl, `sim-${i}`, batch, ac.signal));
    await sleep(8000);
    console.log(
      `measuring the hub with ${simulated} simulated agents (${template.length} samples each per second) for ${hubWindowS} s ...`,
    );
    const [loaded] = (await measure([hubPid], hubWindowS)) as [Usage];
    ac.abort();
    const sent = (await Promise.all(runs)).reduce((n, x) => n + x, 0);
    const hosts = (await (await fetch(`${url}/api/v1/hosts?status=up`)).json()) as { hosts: unknown[] };
    if (failures.size > 0) throw new Error(`the hub refused publishes: ${JSON.stringify([...failures])}`);
    results.hub = {
      simulated_agents: simulated,
      samples_per_batch: template.length,
      batches_acknowledged: sent,
      hosts_up_at_end: hosts.hosts.length,
      idle,
      loaded,
      cpu_percent_of_core_per_agent: round((loaded.cpu_percent_of_core - idle.cpu_percent_of_core) / simulated),
      rss_mb_per_agent: round((loaded.rss_median_mb - idle.rss_median_mb) / simulated),
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
  console.table({
    agent: results.agent,
    'peer (idle node)': results.peer_idle_node,
    'hub alone': (results.hub as { idle: Usage }).idle,
    [`hub + ${simulated} agents`]: (results.hub as { loaded: Usage }).loaded,
  });
  console.log(JSON.stringify({ agent_vs_peer: results.agent_vs_peer, hub: results.hub }, null, 2));
  mkdirSync(values.out!, { recursive: true });
  const file = join(values.out!, `agent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
