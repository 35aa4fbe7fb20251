/**
 * @module bench/alerts/run
 * Entry point of the alert-latency bench: 1,000 threshold rules (one per `group` label, from the config file) over
 * 10,000 series of `bench.load`, with background ingest of normal samples. A WebSocket client subscribed to `alerts`
 * measures, per probe, the time from posting one crossing sample to receiving its `firing` event, and from posting a
 * resolving sample to its `resolved` event. A second hub without rules runs the same background load for a server
 * CPU baseline (`--no-baseline` skips it). Prints a table and writes `bench/results/alerts-<timestamp>.json`.
 *
 *   node --import tsx bench/alerts/run.ts [--series 10000] [--rules 1000] [--probes 500] [--background-rate 15000]
 *     [--background-batch 300] [--timeout-ms 2000] [--no-baseline] [--cpu-prof] [--build] [--out <dir>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench } from '../fanout/server-process.js';
import { type CpuWindow, cpuWindow, type LatencySummary, summarize } from '../fanout/stats.js';
import { buildInfo, ensureHubBuilt, type RunningHub, startHub, stopHub, type YamlValue } from '../ingest/hub.js';
import { monotonicUs, newestProfile, type ProfileSummary, summarizeProfile } from '../ingest/profile.js';
import { waitQuiet } from '../ingest/quiet.js';
import { type Check, check, num, table, writeJson } from '../ingest/report.js';
import { BackgroundLoad, type BackgroundStats, type LoadShape, rules, seed } from './load.js';
import { AlertWatcher, runProbes } from './probe.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '10000' },
    rules: { type: 'string', default: '1000' },
    probes: { type: 'string', default: '500' },
    'background-rate': { type: 'string', default: '15000' },
    'background-batch': { type: 'string', default: '300' },
    'timeout-ms': { type: 'string', default: '2000' },
    'no-baseline': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});

const shape: LoadShape = { series: Number(values.series), groups: Number(values.rules), probeEvery: 10 };
const opts = {
  probes: Math.min(Number(values.probes), Math.ceil(shape.series / shape.probeEvery)),
  backgroundRate: Number(values['background-rate']),
  backgroundBatch: Number(values['background-batch']),
  timeoutMs: Number(values['timeout-ms']),
  cpuWindowMs: 3000,
};

const log = (line: string): void => console.log(line);

interface LoadRun {
  /** Server CPU under background load alone, % of one core. */
  backgroundCpu: CpuWindow;
  background: BackgroundStats & { samplesPerSec: number };
}

interface AlertsReport {
  startedAt: string;
  durationS: number;
  environment: Record<string, string | number>;
  options: Record<string, unknown>;
  withRules:
    | (LoadRun & {
        probeCpu: CpuWindow;
        fire: LatencySummary;
        resolve: LatencySummary;
        fireReply: LatencySummary;
        resolveReply: LatencySummary;
        timeouts: number;
        rejected: number;
        alertEvents: number;
        unmatchedEvents: number;
      })
    | null;
  withoutRules: LoadRun | null;
  /** With `--cpu-prof`: the hub with rules, over the probe window. */
  profile?: ProfileSummary & { path: string };
  error?: string;
  checks: Check[];
}

function hubConfig(withRules: boolean): { [key: string]: YamlValue } {
  return {
    log_level: 'warn',
    metrics: { collect_interval: 0 },
    alerts: { rules: withRules ? rules(shape) : [] },
  };
}

/** Seeds the series, starts the background load and measures server CPU under it. */
async function backgroundPhase(hub: RunningHub): Promise<{ load: BackgroundLoad; run: LoadRun }> {
  await seed(hub.port, shape);
  const load = new BackgroundLoad(hub.port, shape, opts.backgroundBatch);
  load.start(opts.backgroundRate);
  await sleep(1000);
  const accepted0 = load.stats.accepted;
  const close = cpuWindow(hub.server);
  const t0 = Date.now();
  await sleep(opts.cpuWindowMs);
  const backgroundCpu = close();
  const samplesPerSec = Math.round(((load.stats.accepted - accepted0) * 1000) / (Date.now() - t0));
  return { load, run: { backgroundCpu, background: { ...load.stats, samplesPerSec } } };
}

async function main(): Promise<void> {
  const started = new Date();
  const tmpDir = mkdtempSync(join(os.tmpdir(), 'vigil-bench-alerts-'));
  const report: AlertsReport = {
    startedAt: started.toISOString(),
    durationS: 0,
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
    },
    options: { ...shape, ...opts },
    withRules: null,
    withoutRules: null,
    checks: [],
  };
  const missing = ensureHubBuilt(root, values.build, log);
  if (missing) throw new Error(`the hub is not built: ${missing}`);
  Object.assign(report.environment, buildInfo(root));
  let hub: RunningHub | undefined;
  const profDir = join(os.tmpdir(), `vigil-bench-alerts-prof-${started.getTime()}`);
  let probeWindow: [number, number] | undefined;
  try {
    log(`[alerts] ${shape.groups} rules over ${shape.series} series, ${opts.backgroundRate} samples/s background`);
    hub = await startHub({
      root,
      tmpDir,
      name: 'hub-rules',
      dataDir: mkdtempSync(join(tmpDir, 'data-')),
      config: hubConfig(true),
      nodeFlags: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    });
    await waitQuiet(30, 10_000);
    const watcher = new AlertWatcher();
    await watcher.connect(hub.port);
    const { load, run } = await backgroundPhase(hub);
    log(`  background: ${run.background.samplesPerSec} samples/s, server CPU ${run.backgroundCpu.serverPct}%`);
    log(`  ${opts.probes} probes ...`);
    const close = cpuWindow(hub.server);
    const mono0 = monotonicUs();
    const probes = await runProbes(hub.port, watcher, shape, opts.probes, opts.timeoutMs);
    probeWindow = [mono0, monotonicUs()];
    const probeCpu = close();
    await load.stop();
    report.withRules = {
      ...run,
      background: { ...load.stats, samplesPerSec: run.background.samplesPerSec },
      probeCpu,
      fire: summarize(probes.fire),
      resolve: summarize(probes.resolve),
      fireReply: summarize(probes.fireReply),
      resolveReply: summarize(probes.resolveReply),
      timeouts: probes.timeouts,
      rejected: probes.rejected,
      alertEvents: watcher.alertEvents,
      unmatchedEvents: watcher.unmatched,
    };
    watcher.close();
    await stopHub(hub);
    hub = undefined;
    const prof = values['cpu-prof'] ? newestProfile(profDir, started.getTime()) : undefined;
    if (prof) report.profile = { path: prof, ...summarizeProfile(prof, 20, probeWindow) };

    if (!values['no-baseline']) {
      log('[baseline] the same background load, no rules');
      hub = await startHub({
        root,
        tmpDir,
        name: 'hub-norules',
        dataDir: mkdtempSync(join(tmpDir, 'data-')),
        config: hubConfig(false),
      });
      await waitQuiet(30, 10_000);
      const base = await backgroundPhase(hub);
      await base.load.stop();
      report.withoutRules = base.run;
      await stopHub(hub);
      hub = undefined;
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    log(`error: ${report.error}`);
  } finally {
    if (hub) await stopHub(hub);
    rmSync(tmpDir, { recursive: true, force: true });
  }
  report.durationS = Math.round((Date.now() - started.getTime()) / 1000);
  const w = report.withRules;
  report.checks = [
    check('alert latency p99 ms, sample in to firing event', w?.fire.p99Ms, '< 20'),
    check('alert latency p99 ms, sample in to resolved event', w?.resolve.p99Ms, '< 20'),
  ];
  log(formatReport(report));
  log(`\nwrote ${writeJson(values.out, 'alerts', report.startedAt, report)} (${report.durationS} s)`);
}

function formatReport(r: AlertsReport): string {
  const out: string[] = [];
  const w = r.withRules;
  if (w) {
    out.push(`\nAlert latency (ms), ${shape.groups} rules, ${shape.series} series, ${w.fire.samples} probes`);
    const rows = [['transition', 'p50', 'p99', 'max', 'HTTP reply p50', 'reply p99']];
    rows.push(['sample 95 -> firing', ...lat(w.fire), num(w.fireReply.p50Ms), num(w.fireReply.p99Ms)]);
    rows.push(['sample 10 -> resolved', ...lat(w.resolve), num(w.resolveReply.p50Ms), num(w.resolveReply.p99Ms)]);
    out.push(table(rows));
    out.push(
      `timeouts ${w.timeouts}, rejected ${w.rejected}, alert events ${w.alertEvents} (unmatched ${w.unmatchedEvents})`,
    );
    const b = r.withoutRules;
    out.push('\nServer CPU (% of one core)');
    const cpuRows = [['load', 'samples/s', 'with rules', 'without rules', 'other procs']];
    cpuRows.push([
      'background only',
      String(w.background.samplesPerSec),
      `${w.backgroundCpu.serverPct}%`,
      b ? `${b.backgroundCpu.serverPct}%` : '-',
      `${w.backgroundCpu.otherPct}%`,
    ]);
    cpuRows.push(['background + probes', '-', `${w.probeCpu.serverPct}%`, '-', `${w.probeCpu.otherPct}%`]);
    out.push(table(cpuRows));
    out.push(
      `background: ${w.background.batches} batches, ${w.background.rejected} rejected, ` +
        `${w.background.skippedTicks} ticks skipped (previous batch still in flight)`,
    );
  }
  if (r.profile) {
    const p = r.profile;
    out.push(
      `\nServer CPU profile, probe window (${p.durationMs} ms), main thread busy ${p.busyPct}%; self time\n${p.path}`,
    );
    out.push(table([['function', 'self %', 'where'], ...p.rows.map((x) => [x.fn, num(x.selfPct, 1), x.where])]));
  }
  out.push('\nBudgets (DESIGN.md)');
  const rows = [['check', 'value', 'budget', 'within']];
  for (const c of r.checks) {
    rows.push([c.name, num(c.value, 3), c.budget ?? '-', c.pass === null ? '-' : c.pass ? 'yes' : 'NO']);
  }
  out.push(table(rows));
  return out.join('\n');
}

function lat(s: LatencySummary): string[] {
  return [num(s.p50Ms), num(s.p99Ms), num(s.maxMs)];
}

runBench(main);
