/**
 * @module bench/ingest/versus
 * Vigil against VictoriaMetrics on the same InfluxDB line protocol, from the same client: per data set
 * (`influx-datasets.ts`) and series count, the same pre-built bodies (`linesPerRequest` lines each, ms timestamps,
 * 1 s apart) are posted over ONE keep-alive connection, one request at a time, to a fresh VictoriaMetrics and a fresh
 * hub, `repeat` times, the two alternating which goes first. Vigil replies once the samples are durable (its default,
 * `synchronous: full`); VictoriaMetrics replies once it has buffered them.
 *
 * - samples/s: lines / (last reply - first request), per run; the report takes the median over the repeats.
 * - bytes/sample (steady state): after the first run of each target, the whole data directory (every file,
 *   write-ahead logs and free pages included) once the store has settled, divided by the samples. VictoriaMetrics
 *   settles when nothing is pending or merging (`victoria.ts`); Vigil when every sample is sealed
 *   (`vigil_tsdb_samples{state="pending"}` is 0) and a few more checkpoints have passed. Both also need the directory
 *   size to hold still for 5 s. Measured while the process runs: a graceful stop would let either tidy up first.
 */
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CpuWindow, cpuWindow, round } from '../fanout/stats.js';
import { keepAliveAgent, post } from './http-client.js';
import { type RunningHub, stopHub } from './hub.js';
import { type DatasetName, InfluxFeed } from './influx-datasets.js';
import { monotonicUs } from './profile.js';
import {
  type DirSize,
  dirSize,
  getText,
  metricSum,
  type RunningVictoria,
  type SettleResult,
  settleVictoria,
} from './victoria.js';

export type TargetName = 'victoria' | 'vigil';

export interface VersusOptions {
  datasets: DatasetName[];
  series: number[];
  samples: number;
  linesPerRequest: number;
  repeat: number;
  baseTs: number;
  /** The hub's checkpoint interval in this phase, ms: the settle wait counts checkpoints in it. */
  checkpointMs: number;
}

export interface PostRun {
  target: TargetName;
  samplesPerSec: number;
  ms: number;
  requests: number;
  cpu: CpuWindow;
  /** The posting window on CLOCK_MONOTONIC (µs), to cut a server CPU profile to it. */
  windowMonoUs: [number, number];
}

export interface DiskFigure {
  size: DirSize;
  bytesPerSample: number;
  waitedMs: number;
  settled: boolean;
}

export interface VersusCase {
  dataset: DatasetName;
  series: number;
  samples: number;
  runs: PostRun[];
  median: Record<TargetName, number>;
  /** Vigil / VictoriaMetrics, medians. */
  ingestRatio: number;
  disk: Partial<Record<TargetName, DiskFigure>>;
  /** Vigil / VictoriaMetrics bytes per sample. */
  diskRatio: number | null;
  /** Server CPU per sample (µs, median of the runs): less sensitive to a busy machine than samples/s. */
  cpuUsPerSample: Record<TargetName, number>;
  /** The machine's load average (1, 5, 15 min) when the case ended. */
  loadAvg: number[];
}

export interface Starters {
  victoria: (name: string) => Promise<RunningVictoria>;
  vigil: (name: string) => Promise<RunningHub>;
  log: (line: string) => void;
  /** Called after each Vigil run has stopped (e.g. to read its CPU profile). */
  afterVigil?: (run: PostRun) => void;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

async function postAll(
  port: number,
  path: string,
  bodies: Buffer[],
  lines: number,
  expectStatus: number,
  server: RunningHub['server'],
): Promise<Omit<PostRun, 'target'>> {
  const agent = keepAliveAgent(1);
  const closeCpu = cpuWindow(server);
  const mono0 = monotonicUs();
  const t0 = performance.now();
  for (const body of bodies) {
    const reply = await post(agent, port, path, 'text/plain', body, 120_000);
    if (reply.status !== expectStatus) {
      agent.destroy();
      throw new Error(`POST ${path}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
    }
  }
  const ms = performance.now() - t0;
  const cpu = closeCpu();
  agent.destroy();
  return {
    samplesPerSec: Math.round(lines / (ms / 1000)),
    ms: Math.round(ms),
    requests: bodies.length,
    cpu,
    windowMonoUs: [mono0, monotonicUs()],
  };
}

/** Waits until every sample is sealed, `checkpoints` more checkpoints pass and the directory holds still. */
async function settleVigil(hub: RunningHub, expected: number, checkpointMs: number, stableMs = 5000, maxMs = 120_000) {
  const t0 = performance.now();
  let sealedAt = 0;
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    const metrics = await getText(hub.port, '/metrics');
    const pending = metricSum(metrics, 'vigil_tsdb_samples{state="pending"}');
    const sealed = metricSum(metrics, 'vigil_tsdb_samples{state="sealed"}');
    const now = performance.now();
    if (pending > 0 || sealed < expected) sealedAt = 0;
    else if (sealedAt === 0) sealedAt = now;
    const size = dirSize(hub.dataDir);
    if (size.bytes !== last || sealedAt === 0 || now - sealedAt < 3 * checkpointMs) {
      last = size.bytes;
      stableSince = now;
    }
    if (now - stableSince >= stableMs) return { size, waitedMs: Math.round(now - t0), settled: true };
    if (now - t0 >= maxMs) return { size, waitedMs: Math.round(now - t0), settled: false };
    await sleep(500);
  }
}

function disk(settle: SettleResult, samples: number): DiskFigure {
  return {
    size: settle.size,
    bytesPerSample: round(settle.size.bytes / samples, 3),
    waitedMs: settle.waitedMs,
    settled: settle.settled,
  };
}

export async function runVersusCase(
  dataset: DatasetName,
  series: number,
  o: VersusOptions,
  start: Starters,
): Promise<VersusCase> {
  const samples = Math.ceil(o.samples / series) * series;
  const t0 = performance.now();
  const bodies = new InfluxFeed(dataset, series, o.baseTs).bodies(samples, o.linesPerRequest);
  const mib = bodies.reduce((n, b) => n + b.length, 0) / 1048576;
  start.log(`  ${bodies.length} bodies, ${mib.toFixed(1)} MiB, built in ${Math.round(performance.now() - t0)} ms`);
  const runs: PostRun[] = [];
  const diskFigures: Partial<Record<TargetName, DiskFigure>> = {};
  for (let rep = 0; rep < o.repeat; rep++) {
    const order: TargetName[] = rep % 2 === 0 ? ['victoria', 'vigil'] : ['vigil', 'victoria'];
    for (const target of order) {
      const name = `${target}-${dataset}-${series}-${rep + 1}`;
      if (target === 'victoria') {
        const vm = await start.victoria(name);
        try {
          const r = await postAll(vm.port, '/write?precision=ms', bodies, samples, 204, vm.server);
          runs.push({ target, ...r });
          if (diskFigures.victoria === undefined)
            diskFigures.victoria = disk(await settleVictoria(vm, samples), samples);
        } finally {
          await vm.server.stop();
        }
      } else {
        const hub = await start.vigil(name);
        try {
          const r = await postAll(hub.port, '/api/v1/write/influx?precision=ms', bodies, samples, 200, hub.server);
          runs.push({ target, ...r });
          if (diskFigures.vigil === undefined) {
            diskFigures.vigil = disk(await settleVigil(hub, samples, o.checkpointMs), samples);
          }
        } finally {
          await stopHub(hub);
        }
        const last = runs[runs.length - 1];
        if (last?.target === 'vigil') start.afterVigil?.(last);
      }
      const last = runs[runs.length - 1]!;
      start.log(
        `  ${target.padEnd(8)} run ${rep + 1}: ${last.samplesPerSec} samples/s, server CPU ` +
          `${Math.round(last.cpu.serverPct)}%, other ${Math.round(last.cpu.otherPct)}%` +
          (diskFigures[target] && rep === 0 ? `, ${diskFigures[target]!.bytesPerSample} bytes/sample` : ''),
      );
    }
  }
  const med = (t: TargetName) => median(runs.filter((r) => r.target === t).map((r) => r.samplesPerSec));
  const median_ = { victoria: med('victoria'), vigil: med('vigil') };
  const cpuUs = (t: TargetName) =>
    round(median(runs.filter((r) => r.target === t).map((r) => (r.cpu.serverPct / 100) * r.ms * (1000 / samples))), 3);
  const v = diskFigures.vigil?.bytesPerSample;
  const p = diskFigures.victoria?.bytesPerSample;
  return {
    dataset,
    series,
    samples,
    runs,
    median: median_,
    ingestRatio: round(median_.vigil / median_.victoria, 3),
    disk: diskFigures,
    diskRatio: v !== undefined && p !== undefined && p > 0 ? round(v / p, 3) : null,
    cpuUsPerSample: { victoria: cpuUs('victoria'), vigil: cpuUs('vigil') },
    loadAvg: os.loadavg().map((x) => round(x, 2)),
  };
}

export function versusDataDir(tmpDir: string, name: string): string {
  return join(tmpDir, `data-${name}`);
}
