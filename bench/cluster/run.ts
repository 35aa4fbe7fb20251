/**
 * @module bench/cluster/run
 * The Redis engine against the memory engine, in one invocation, on a private redis-server:
 * - fan-out to N subscribers (default 1,000) through one hub node on each engine: peak deliveries/s and p99 latency
 *   at half of each node's own peak (the fan-out bench's ramp, bench/fanout/fanout.ts), and their ratio (budget
 *   ≥ 0.8);
 * - Redis commands per published event, from Redis's own `INFO commandstats` around the Redis run (commands run
 *   inside the publish script count too; `evalsha` is the round trips);
 * - publish latency through Redis (the broker's publish, one script round trip), p50 and p99 over sequential
 *   publishes of a 150-byte event.
 *
 * Prints a table and writes `bench/results/cluster-<timestamp>.json`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HistoryPolicies, RedisBroker } from '@vigil/server';
import { Redis } from 'ioredis';
import type { RunContext } from '../fanout/context.js';
import { type FanoutOptions, type FanoutResult, runFanout } from '../fanout/fanout.js';
import { freePort, runBench } from '../fanout/server-process.js';
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
  maxDrainMs: 250,
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

function summary(r: FanoutResult | { error: string }) {
  if ('error' in r) return { error: r.error };
  return {
    peak_deliveries_per_s: r.peak?.deliveriesPerSec ?? null,
    peak_is_lower_bound: r.peakIsLowerBound,
    saturated: r.saturated,
    half_peak_events_per_s: r.halfPeak?.eventsPerSec ?? null,
    half_peak_p50_ms: r.halfPeak?.latency.p50Ms ?? null,
    half_peak_p99_ms: r.halfPeak?.latency.p99Ms ?? null,
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
  const results: Record<string, FanoutResult | { error: string }> = {};
  let commandsPerEvent: Record<string, number> = {};
  let publishLatency = { p50_ms: 0, p99_ms: 0, count: 0 };
  try {
    for (const [name, target] of [
      ['memory', TARGETS.vigil],
      ['redis', redisTarget(redis.url)],
    ] as const) {
      log(`\n[fanout] ${target.label}: ${fanoutOpts.subscribers} subscribers`);
      const before = name === 'redis' ? await commandCalls(redis.url) : undefined;
      try {
        results[name] = await runFanout(target, fanoutOpts, ctx);
      } catch (err) {
        results[name] = { error: (err as Error).message };
        log(`  error: ${(err as Error).message}`);
      }
      const r = results[name];
      if (before && r && !('error' in r)) {
        const after = await commandCalls(redis.url);
        // Every event the node published is one XADD inside the publish script (calibration runs included).
        const published = Math.max(1, (after.get('xadd') ?? 0) - (before.get('xadd') ?? 0));
        const per: Record<string, number> = {};
        let total = 0;
        for (const [cmd, calls] of after) {
          const d = calls - (before.get(cmd) ?? 0);
          if (d <= 0) continue;
          total += d;
          per[cmd] = Math.round((d / published) * 1000) / 1000;
        }
        commandsPerEvent = { total: Math.round((total / published) * 1000) / 1000, ...per };
      }
    }

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

  const mem = summary(results.memory ?? { error: 'not run' });
  const red = summary(results.redis ?? { error: 'not run' });
  const ratio =
    'peak_deliveries_per_s' in mem &&
    'peak_deliveries_per_s' in red &&
    mem.peak_deliveries_per_s &&
    red.peak_deliveries_per_s
      ? Math.round((red.peak_deliveries_per_s / mem.peak_deliveries_per_s) * 100) / 100
      : null;
  const report = {
    startedAt: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    environment: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg() },
    options: { ...fanoutOpts, publishes: Number(values.publishes) },
    one_node: { memory: mem, redis: red, redis_vs_memory_deliveries: ratio, budget: 0.8 },
    redis_commands_per_event: commandsPerEvent,
    publish_latency_through_redis: publishLatency,
    raw: results,
  };
  log('\n== one node, 1,000 subscribers');
  log(`memory: ${JSON.stringify(mem)}`);
  log(`redis:  ${JSON.stringify(red)}`);
  log(`deliveries/s, redis vs memory: ${ratio ?? 'n/a'} (budget >= 0.8)`);
  log(`redis commands per published event: ${JSON.stringify(commandsPerEvent)}`);
  log(`publish latency through redis: p50 ${publishLatency.p50_ms} ms, p99 ${publishLatency.p99_ms} ms`);
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `cluster-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${file} (${report.durationS} s)`);
}

runBench(main);
