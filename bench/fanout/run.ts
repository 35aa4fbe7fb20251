/**
 * @module bench/fanout/run
 * Entry point of the side-by-side benchmark (`npm run bench`). Runs the fan-out scenario against raw `ws`,
 * `ws-batch`, Socket.IO and Vigil `--runs` times (default 3), interleaved (every target once per round, raw `ws`
 * first), and the idle-connections scenario against raw `ws` and Vigil, each server in its own child process with
 * this process as the load generator. Ratios are taken between the medians of each figure over the runs. Prints
 * tables and writes `bench/results/fanout-<ts>.json`. `--shape` picks how subscribers and events are spread: `one`
 * (every subscriber on one channel, the budgeted shape), `wide` (the same with 10,000 subscribers) or `channels`
 * (`--channels` channels, subscribers spread evenly, a `kinds` filter on each subscription keeping half the events);
 * the last two compare Vigil with `ws-batch` and have no budget.
 *
 *   node --import tsx bench/fanout/run.ts [--shape one|wide|channels] [--channels 100]
 *     [--scenario all|fanout|idle] [--targets ws,ws-batch,socketio,vigil]
 *     [--runs 3] [--subscribers 1000] [--event-bytes 150] [--step-ms 1500] [--start-rate 50] [--latency-ms 4000]
 *     [--idle-connections 10000] [--hold-ms 2000] [--vigil-arg <arg>]... [--no-build] [--out <dir>]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { RunContext } from './context.js';
import { type FanoutOptions, runFanout } from './fanout.js';
import { type IdleOptions, runIdle } from './idle.js';
import { computeRatios, formatReport, type Report, writeReport } from './report.js';
import { runBench } from './server-process.js';
import { DEFAULT_TARGETS, SHAPE_IDS, type Shape, type ShapeId, TARGET_IDS, TARGETS, type TargetId } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'one' },
    channels: { type: 'string', default: '100' },
    scenario: { type: 'string' },
    targets: { type: 'string' },
    runs: { type: 'string', default: '3' },
    subscribers: { type: 'string' },
    'event-bytes': { type: 'string', default: '150' },
    'step-ms': { type: 'string', default: '1500' },
    'start-rate': { type: 'string' },
    'latency-ms': { type: 'string', default: '4000' },
    'idle-connections': { type: 'string', default: '10000' },
    'hold-ms': { type: 'string', default: '2000' },
    'vigil-arg': { type: 'string', multiple: true, default: [] },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});

if (!(SHAPE_IDS as readonly string[]).includes(values.shape)) throw new Error(`bad --shape ${values.shape}`);
const shapeId = values.shape as ShapeId;
const channelCount = shapeId === 'channels' ? Number(values.channels) : 1;
if (!Number.isInteger(channelCount) || channelCount < 1 || channelCount > 10_000) {
  throw new Error(`bad --channels ${values.channels} (1 to 10000)`);
}
const shape: Shape = { id: shapeId, channels: channelCount, filtered: shapeId === 'channels' };

// The idle scenario and the peers without routing belong to the budgeted shape; the others compare with ws-batch.
const scenario = values.scenario ?? (shapeId === 'one' ? 'all' : 'fanout');
if (scenario !== 'all' && scenario !== 'fanout' && scenario !== 'idle') throw new Error(`bad --scenario ${scenario}`);
const targets = (values.targets ?? (shapeId === 'one' ? DEFAULT_TARGETS.join(',') : 'ws-batch,vigil'))
  .split(',')
  .map((t) => {
    if (!(TARGET_IDS as readonly string[]).includes(t)) throw new Error(`unknown target ${t}`);
    if (shape.filtered && !TARGETS[t as TargetId].routes) throw new Error(`target ${t} has no --shape ${shapeId}`);
    return t as TargetId;
  });

const subscribers = Number(values.subscribers ?? (shapeId === 'one' ? 1000 : 10_000));
if (!Number.isInteger(subscribers) || subscribers < channelCount) {
  throw new Error(`bad --subscribers ${values.subscribers} (an integer, at least one per channel)`);
}
// Shapes other than `one` start the ramp at about 50,000 deliveries/s: events/s = 50,000 / deliveries per event.
const deliveriesPerEvent = (subscribers / channelCount) * (shape.filtered ? 0.5 : 1);
const startRate = Number(
  values['start-rate'] ?? (shapeId === 'one' ? 50 : Math.max(1, Math.round(50_000 / deliveriesPerEvent))),
);

const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new Error(`bad --runs ${values.runs} (1 to 9)`);

const fanoutOpts: FanoutOptions = {
  subscribers,
  eventBytes: Number(values['event-bytes']),
  stepMs: Number(values['step-ms']),
  startRate,
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
  readyTimeoutMs: Math.max(10_000, subscribers * 3),
  shape,
};
const idleOpts: IdleOptions = {
  connections: Number(values['idle-connections']),
  connectConcurrency: 200,
  holdMs: Number(values['hold-ms']),
};

const log = (line: string): void => console.log(line);

/** Vigil runs from `packages/server/dist`; build it when missing. Returns why it is unavailable, or null. */
function ensureVigilBuilt(): string | null {
  const main = join(root, 'packages/server/dist/cli/main.js');
  if (existsSync(main)) return null;
  if (values['no-build']) return `${main} missing (--no-build)`;
  log('packages/server/dist missing: running npm run build ...');
  const res = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (res.status === 0 && existsSync(main)) return null;
  const tail = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  return `npm run build failed (exit ${res.status}):\n${tail}`;
}

async function main(): Promise<void> {
  const started = new Date();
  const tmpDir = mkdtempSync(join(os.tmpdir(), 'vigil-bench-'));
  const ctx: RunContext = {
    root,
    host: '127.0.0.1',
    tmpDir,
    nodeFlags: ['--expose-gc', '--import', 'tsx', '--import', pathToFileURL(join(here, 'gc-hook.ts')).href],
    vigilArgs: values['vigil-arg'],
    readyTimeoutMs: 30_000,
    log,
  };
  const report: Report = {
    startedAt: started.toISOString(),
    durationS: 0,
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemMiB: Math.round(os.totalmem() / 1048576),
    },
    options: { scenario, targets, runs, ...fanoutOpts, idle: idleOpts, vigilArgs: ctx.vigilArgs },
    fanout: {},
    idle: {},
    ratios: [],
  };
  const vigilMissing = targets.includes('vigil') ? ensureVigilBuilt() : null;
  if (vigilMissing) log(`Vigil skipped: ${vigilMissing}`);

  try {
    if (scenario !== 'idle') {
      // Raw ws runs first: half of its first peak is the common rate every target's latency is also measured at.
      let referenceRate: number | undefined;
      const ordered = [...targets].sort((a, b) => Number(b === 'ws') - Number(a === 'ws'));
      for (let round = 1; round <= runs; round++) {
        for (const id of ordered) {
          report.fanout[id] ??= [];
          const results = report.fanout[id];
          if (id === 'vigil' && vigilMissing) {
            if (round === 1) results.push({ error: `skipped: ${vigilMissing}` });
            continue;
          }
          log(`\n[fanout] ${TARGETS[id].label}, run ${round} of ${runs}`);
          try {
            const result = await runFanout(TARGETS[id], fanoutOpts, ctx, referenceRate);
            results.push(result);
            if (id === 'ws' && result.halfPeak && referenceRate === undefined) {
              referenceRate = result.halfPeak.eventsPerSec;
              result.referenceEventsPerSec = referenceRate;
              result.atReference = result.halfPeak;
            }
          } catch (err) {
            log(`  error: ${(err as Error).message}`);
            results.push({ error: (err as Error).message });
          }
        }
      }
    }
    if (scenario !== 'fanout') {
      for (const id of targets.filter((t) => t === 'ws' || t === 'vigil')) {
        if (id === 'vigil' && vigilMissing) {
          report.idle[id] = { error: `skipped: ${vigilMissing}` };
          continue;
        }
        log(`\n[idle] ${TARGETS[id].label}: ${idleOpts.connections} connections`);
        try {
          report.idle[id] = await runIdle(TARGETS[id], idleOpts, ctx);
        } catch (err) {
          log(`  error: ${(err as Error).message}`);
          report.idle[id] = { error: (err as Error).message };
        }
      }
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  report.durationS = Math.round((Date.now() - started.getTime()) / 1000);
  report.ratios = computeRatios(report);
  log(formatReport(report));
  log(`\nwrote ${writeReport(report, values.out)} (${report.durationS} s)`);
}

runBench(main);
