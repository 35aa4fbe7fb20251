/**
 * @module bench/cluster/run
 * The Redis engine against the memory engine, and Redis-engine clusters behind a balancer, in one invocation, on a
 * private redis-server:
 * - fan-out to N subscribers (default 1,000) through one hub node on each engine: peak deliveries/s and p99 latency
 *   at half of each node's own peak (the fan-out bench's ramp, bench/fanout/fanout.ts), and their ratio (budget
 *   ≥ 0.8);
 * - the same through 2 and 3 Redis-engine nodes behind a TCP round-robin balancer (bench/cluster/balancer.ts, its
 *   own process): subscribers spread over the nodes, the publisher on one of them; scaling against one Redis node,
 *   and deliveries per second of server-side CPU (nodes, balancer and redis-server);
 * - every configuration `--runs` times (default 3), interleaved round by round, each figure the median of its runs;
 * - Redis commands per published event, from Redis's own `INFO commandstats` around the one-node Redis runs
 *   (commands run inside the publish script count too; `evalsha` is the round trips, fewer than the events when
 *   publishes arrive together), the events counted by the channels' offsets, and the redis-server's CPU
 *   time per published event over the same runs (its pub/sub delivery to the node included);
 * - publish latency through Redis (the broker's publish, one script round trip), p50 and p99 over sequential
 *   publishes of a 150-byte event.
 *
 * Prints a table and writes `bench/results/cluster-<timestamp>.json`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HistoryPolicies, RedisBroker } from '@vigil/server';
import { Redis } from 'ioredis';
import type { RunContext } from '../fanout/context.js';
import { startTarget } from '../fanout/context.js';
import { type FanoutOptions, type FanoutResult, runFanout } from '../fanout/fanout.js';
import { type FanoutServer, freePort, runBench, ServerProcess } from '../fanout/server-process.js';
import { TARGETS, type Target } from '../fanout/targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    'event-bytes': { type: 'string', default: '150' },
    'step-ms': { type: 'string', default: '1500' },
    'latency-ms': { type: 'string', default: '4000' },
    publishes: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    'max-drain-ms': { type: 'string', default: '250' },
    nodes: { type: 'string', default: '2,3' },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});

const fanoutOpts: FanoutOptions = {
  subscribers: Number(values.subscribers),
  eventBytes: Number(values['event-bytes']),
  stepMs: Number(values['step-ms']),
  startRate: 50,
  growth: 2,
  maxSteps: 14,
  refineSteps: 3,
  maxDrainMs: Number(values['max-drain-ms']),
  maxRampMs: 26_000,
  noiseLimitPct: 25,
  latencyMs: Number(values['latency-ms']),
  latencyWarmupMs: 500,
  sampleEvery: 20,
  connectConcurrency: 100,
};

const log = (line: string): void => console.log(line);

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return { url, child };
    } catch {
      c.disconnect();
      await sleep(50);
    }
  }
  throw new Error('redis-server did not start');
}

/** Events published on every channel so far: the sum of the channels' offsets (the `o` of each `<prefix>{c}:m`). */
async function publishedEvents(url: string): Promise<number> {
  const c = new Redis(url);
  try {
    let total = 0;
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', '*}:m', 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = c.pipeline();
      for (const k of keys) pipe.hget(k, 'o');
      for (const [, o] of (await pipe.exec()) ?? []) total += Number(o ?? 0);
    } while (cursor !== '0');
    return total;
  } finally {
    c.disconnect();
  }
}

/** Total calls per command, from INFO commandstats. */
async function commandCalls(url: string): Promise<Map<string, number>> {
  const c = new Redis(url);
  try {
    const text = (await c.info('commandstats')) as string;
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
    return out;
  } finally {
    c.disconnect();
  }
}

const CLK_TCK = 100;

/** CPU time of a process by pid, ms (user + system, and system). */
function procCpuMs(pid: number | undefined): { total: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = (Number(f[11]) * 1000) / CLK_TCK;
    const system = (Number(f[12]) * 1000) / CLK_TCK;
    return { total: user + system, system };
  } catch {
    return { total: 0, system: 0 };
  }
}

/**
 * The server side of a Redis-engine run: hub nodes (one, or several behind a balancer) and the redis-server, whose
 * CPU counts as the server's (not as noise from other processes).
 */
class ServerGroup implements FanoutServer {
  constructor(
    private readonly nodes: ServerProcess[],
    private readonly extra: ServerProcess[],
    private readonly redisPid: number | undefined,
  ) {}

  get alive(): boolean {
    return [...this.nodes, ...this.extra].every((s) => s.alive);
  }

  async settle(): Promise<void> {
    await Promise.all(this.nodes.map((s) => s.settle()));
  }

  rssBytes(): number {
    return this.nodes.reduce((n, s) => n + s.rssBytes(), 0);
  }

  cpuMs(): { total: number; system: number } {
    const all = [...this.nodes, ...this.extra].map((s) => s.cpuMs());
    all.push(procCpuMs(this.redisPid));
    return {
      total: all.reduce((n, c) => n + c.total, 0),
      system: all.reduce((n, c) => n + c.system, 0),
    };
  }

  logTail(lines = 30): string {
    return [...this.nodes, ...this.extra].map((s) => s.logTail(lines)).join('\n---\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.extra, ...this.nodes].map((s) => s.stop()));
  }
}

/** Starts `count` Redis-engine nodes (behind a balancer when more than one); the port is where clients connect. */
async function startCluster(
  target: Target,
  ctx: RunContext,
  count: number,
  redisPid: number | undefined,
): Promise<{ server: FanoutServer; port: number }> {
  const nodes: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push((await startTarget(target, ctx)).server);
    if (count === 1) return { server: new ServerGroup(nodes, [], redisPid), port: nodes[0]!.spec.port };
    const port = await freePort();
    const balancer = await ServerProcess.start(
      {
        args: [
          join(here, 'balancer.ts'),
          '--port',
          String(port),
          '--backends',
          nodes.map((n) => n.spec.port).join(','),
        ],
        cwd: root,
        logDir: ctx.tmpDir,
        name: `balancer-${port}`,
        port,
        nodeFlags: ctx.nodeFlags,
      },
      ctx.readyTimeoutMs,
    );
    return { server: new ServerGroup(nodes, [balancer], redisPid), port };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}

function median(xs: number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function redisTarget(url: string): Target {
  const base = TARGETS.vigil;
  return {
    ...base,
    label: 'Vigil, Redis engine',
    serverArgs: (r, port, dataDir, shape) => [
      ...base.serverArgs(r, port, dataDir, shape),
      '--broker',
      'redis',
      '--broker-url',
      url,
    ],
  };
}

interface RunSummary {
  peak_deliveries_per_s: number | null;
  peak_is_lower_bound: boolean;
  saturated: FanoutResult['saturated'];
  /** Server-side CPU at the peak step, % of one core (nodes; with Redis, redis-server and the balancer too). */
  peak_server_cpu_pct: number | null;
  /** Everything else on the machine at the peak step, % of one core: the noise the figures carry. */
  peak_other_cpu_pct: number | null;
  half_peak_events_per_s: number | null;
  half_peak_p50_ms: number | null;
  half_peak_p99_ms: number | null;
}

function summary(r: FanoutResult | { error: string }): RunSummary | { error: string } {
  if ('error' in r) return { error: r.error };
  return {
    peak_deliveries_per_s: r.peak?.deliveriesPerSec ?? null,
    peak_is_lower_bound: r.peakIsLowerBound,
    saturated: r.saturated,
    peak_server_cpu_pct: r.peak?.cpu.serverPct ?? null,
    peak_other_cpu_pct: r.peak?.cpu.otherPct ?? null,
    half_peak_events_per_s: r.halfPeak?.eventsPerSec ?? null,
    half_peak_p50_ms: r.halfPeak?.latency.p50Ms ?? null,
    half_peak_p99_ms: r.halfPeak?.latency.p99Ms ?? null,
  };
}

/** Medians over a configuration's runs (runs that failed are left out, and counted). */
function medianSummary(runs: (RunSummary | { error: string })[]) {
  const ok = runs.filter((r): r is RunSummary => !('error' in r));
  const m = (pick: (r: RunSummary) => number | null) => {
    const v = median(ok.map(pick).filter((x): x is number => x !== null));
    return v === null ? null : Math.round(v * 100) / 100;
  };
  const peak = m((r) => r.peak_deliveries_per_s);
  const cpu = m((r) => r.peak_server_cpu_pct);
  return {
    runs: runs.length,
    failed: runs.length - ok.length,
    peak_deliveries_per_s: peak,
    peak_is_lower_bound_in: ok.filter((r) => r.peak_is_lower_bound).length,
    peak_server_cpu_pct: cpu,
    peak_other_cpu_pct: m((r) => r.peak_other_cpu_pct),
    deliveries_per_server_cpu_s: peak !== null && cpu ? Math.round(peak / (cpu / 100)) : null,
    half_peak_p50_ms: m((r) => r.half_peak_p50_ms),
    half_peak_p99_ms: m((r) => r.half_peak_p99_ms),
    peaks: ok.map((r) => r.peak_deliveries_per_s),
  };
}

async function main(): Promise<void> {
  const started = new Date();
  if (!existsSync(join(root, 'packages/server/dist/cli/main.js'))) {
    log('building packages/server/dist ...');
    spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
  const tmpDir = mkdtempSync(join(os.tmpdir(), 'vigil-bench-cluster-'));
  const ctx: RunContext = {
    root,
    host: '127.0.0.1',
    tmpDir,
    nodeFlags: [
      '--expose-gc',
      '--import',
      'tsx',
      '--import',
      pathToFileURL(join(root, 'bench/fanout/gc-hook.ts')).href,
    ],
    vigilArgs: [],
    readyTimeoutMs: 30_000,
    log,
  };
  const redis = await startRedis();
  const runs = Math.max(1, Number(values.runs));
  const clusterSizes = values.nodes
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 2);
  const redisNode = redisTarget(redis.url);
  const configs: { name: string; label: string; start?: () => Promise<{ server: FanoutServer; port: number }> }[] = [
    { name: 'memory', label: 'Vigil, memory engine, one node' },
    {
      name: 'redis',
      label: 'Vigil, Redis engine, one node',
      start: () => startCluster(redisNode, ctx, 1, redis.child.pid),
    },
    ...clusterSizes.map((n) => ({
      name: `redis_${n}_nodes`,
      label: `Vigil, Redis engine, ${n} nodes behind a balancer`,
      start: () => startCluster(redisNode, ctx, n, redis.child.pid),
    })),
  ];
  const results: Record<string, (FanoutResult | { error: string })[]> = {};
  let commandsPerEvent: Record<string, number> = {};
  const commandDeltas = new Map<string, number>();
  let redisCpuMs = 0;
  let publishedByOneNode = 0;
  let redisCpuPerEventUs: number | null = null;
  let publishLatency = { p50_ms: 0, p99_ms: 0, count: 0 };
  try {
    for (let round = 1; round <= runs; round++) {
      for (const config of configs) {
        log(`\n[fanout ${round}/${runs}] ${config.label}: ${fanoutOpts.subscribers} subscribers`);
        const before = config.name === 'redis' ? await commandCalls(redis.url) : undefined;
        const eventsBefore = config.name === 'redis' ? await publishedEvents(redis.url) : 0;
        const redisCpuBefore = procCpuMs(redis.child.pid).total;
        let result: FanoutResult | { error: string };
        try {
          result = await runFanout(
            config.name === 'memory' ? TARGETS.vigil : redisNode,
            fanoutOpts,
            ctx,
            undefined,
            config.start,
          );
        } catch (err) {
          result = { error: (err as Error).message };
          log(`  error: ${(err as Error).message}`);
        }
        const list = results[config.name] ?? [];
        list.push(result);
        results[config.name] = list;
        if (before && !('error' in result)) {
          redisCpuMs += procCpuMs(redis.child.pid).total - redisCpuBefore;
          publishedByOneNode += (await publishedEvents(redis.url)) - eventsBefore;
          const after = await commandCalls(redis.url);
          for (const [cmd, calls] of after) {
            const d = calls - (before.get(cmd) ?? 0);
            if (d > 0) commandDeltas.set(cmd, (commandDeltas.get(cmd) ?? 0) + d);
          }
        }
      }
    }
    // Every event the one node published raised its channel's offset by one (calibration runs included).
    const published = Math.max(1, publishedByOneNode);
    let total = 0;
    const per: Record<string, number> = {};
    for (const [cmd, d] of commandDeltas) {
      total += d;
      per[cmd] = Math.round((d / published) * 1000) / 1000;
    }
    commandsPerEvent = { total: Math.round((total / published) * 1000) / 1000, ...per };
    redisCpuPerEventUs = publishedByOneNode > 0 ? Math.round((redisCpuMs * 1000 * 10) / published) / 10 : null;

    log(`\n[publish latency] ${values.publishes} sequential publishes through Redis`);
    const broker = new RedisBroker({
      url: redis.url,
      prefix: 'lat:',
      policies: new HistoryPolicies({ max_events: 1000, max_age_ms: 600_000 }),
    });
    await broker.start();
    const data = { text: 'x'.repeat(100) };
    const times: number[] = [];
    const n = Number(values.publishes);
    for (let i = 0; i < n + 200; i++) {
      const t0 = performance.now();
      await broker.publish({ channel: 'lat.bench', kind: 'message', data });
      if (i >= 200) times.push(performance.now() - t0);
    }
    await broker.close();
    times.sort((a, b) => a - b);
    publishLatency = {
      p50_ms: Math.round(quantile(times, 0.5) * 1000) / 1000,
      p99_ms: Math.round(quantile(times, 0.99) * 1000) / 1000,
      count: times.length,
    };
  } finally {
    redis.child.kill('SIGKILL');
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const med = Object.fromEntries(
    configs.map((c) => [c.name, medianSummary((results[c.name] ?? [{ error: 'not run' }]).map(summary))]),
  );
  const peakOf = (name: string) => med[name]?.peak_deliveries_per_s ?? null;
  const ratio = (a: number | null, b: number | null) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  const redisVsMemory = ratio(peakOf('redis'), peakOf('memory'));
  const scaling = Object.fromEntries(
    clusterSizes.map((n) => {
      const name = `redis_${n}_nodes`;
      const perCpu = ratio(
        med[name]?.deliveries_per_server_cpu_s ?? null,
        med.redis?.deliveries_per_server_cpu_s ?? null,
      );
      return [name, { vs_one_node: ratio(peakOf(name), peakOf('redis')), per_server_cpu_vs_one_node: perCpu }];
    }),
  );
  const report = {
    startedAt: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    environment: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg() },
    options: { ...fanoutOpts, publishes: Number(values.publishes), runs, nodes: clusterSizes },
    medians: med,
    one_node: { redis_vs_memory_deliveries: redisVsMemory, budget: 0.8 },
    cluster_scaling: scaling,
    redis_commands_per_event: commandsPerEvent,
    redis_server_cpu_us_per_event: redisCpuPerEventUs,
    publish_latency_through_redis: publishLatency,
    raw: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.map(summary)])),
  };
  log(`\n== ${fanoutOpts.subscribers} subscribers, medians of ${runs} interleaved runs (cpus: ${os.cpus().length})`);
  for (const c of configs) log(`${c.name}: ${JSON.stringify(med[c.name])}`);
  log(`deliveries/s, redis vs memory (one node): ${redisVsMemory ?? 'n/a'} (budget >= 0.8)`);
  log(`cluster scaling: ${JSON.stringify(scaling)}`);
  log(`redis commands per published event: ${JSON.stringify(commandsPerEvent)}`);
  log(`redis-server CPU per published event (one node, fan-out included): ${redisCpuPerEventUs ?? 'n/a'} us`);
  log(`publish latency through redis: p50 ${publishLatency.p50_ms} ms, p99 ${publishLatency.p99_ms} ms`);
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `cluster-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${file} (${report.durationS} s)`);
}

runBench(main);
