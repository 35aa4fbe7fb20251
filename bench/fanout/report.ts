/**
 * @module bench/fanout/report
 * Turns scenario results into ratios against the peers, checks them against the budgets of DESIGN.md, prints
 * readable tables, and writes the JSON report to `bench/results/fanout-<timestamp>.json`. A fan-out target runs
 * several times; each figure of the table and of the ratios is the median of that figure over its good runs. The
 * budgets hold for the `one` shape only; the other shapes report their ratios without one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FanoutResult } from './fanout.js';
import type { IdleResult } from './idle.js';
import { round } from './stats.js';
import type { Shape } from './targets.js';

export interface Ratio {
  name: string;
  value: number | null;
  /** The DESIGN.md budget, e.g. `>= 0.9`; null when there is none. */
  budget: string | null;
  pass: boolean | null;
  /**
   * A peak ratio resting on a run whose ramp ended before any step failed (noisy steps used up its time): that
   * peak is only a lower bound, so the ratio is not checked against its budget (`within`: `?`).
   */
  lowerBound?: boolean;
}

export interface Report {
  startedAt: string;
  durationS: number;
  environment: Record<string, string | number>;
  options: Record<string, unknown>;
  /** Every run of each target, in order. */
  fanout: Record<string, (FanoutResult | { error: string })[]>;
  idle: Record<string, IdleResult | { error: string }>;
  ratios: Ratio[];
}

function ok<T extends object>(r: T | { error: string } | undefined): T | null {
  return r === undefined || 'error' in r ? null : r;
}

function goodRuns(runs: (FanoutResult | { error: string })[] | undefined): FanoutResult[] {
  return (runs ?? []).filter((r): r is FanoutResult => !('error' in r));
}

/** The median of the defined values (the mean of the middle two for an even count); undefined when none. */
export function median(values: (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}

type Figure = (r: FanoutResult) => number | undefined;
const medianOf = (runs: FanoutResult[], f: Figure): number | undefined => median(runs.map(f));

function ratioOf(name: string, a: number | undefined, b: number | undefined, budget: string | null): Ratio {
  const value =
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b;
  let pass: boolean | null = null;
  if (value !== null && budget !== null) {
    const limit = Number(budget.slice(3));
    pass = budget.startsWith('>=') ? value >= limit : value <= limit;
  }
  return { name, value: value === null ? null : round(value, 3), budget, pass };
}

/** The run's shape; reports without one ran the one-channel shape. */
function shapeOf(report: Report): Shape | undefined {
  return report.options.shape as Shape | undefined;
}

export function computeRatios(report: Report): Ratio[] {
  const budgeted = (shapeOf(report)?.id ?? 'one') === 'one';
  const ratio = (name: string, a: number | undefined, b: number | undefined, budget: string | null): Ratio =>
    ratioOf(name, a, b, budgeted ? budget : null);
  const ws = goodRuns(report.fanout.ws);
  const sio = goodRuns(report.fanout.socketio);
  const vigil = goodRuns(report.fanout.vigil);
  const wsBatch = goodRuns(report.fanout['ws-batch']);
  const idleWs = ok(report.idle.ws);
  const idleVigil = ok(report.idle.vigil);
  const peak: Figure = (r) => r.peak?.deliveriesPerSec;
  const p99: Figure = (r) => r.halfPeak?.latency.p99Ms;
  const p50: Figure = (r) => r.halfPeak?.latency.p50Ms;
  const refP99: Figure = (r) => r.atReference?.latency.p99Ms;
  const rss: Figure = (r) => r.rssPerConnBytes;
  const m = medianOf;
  const peakRatio = (name: string, peer: FanoutResult[], budget: string): Ratio => {
    const r = ratio(name, m(vigil, peak), m(peer, peak), budget);
    if (r.value === null || !vigil.concat(peer).some((run) => run.peakIsLowerBound)) return r;
    return { ...r, pass: null, lowerBound: true };
  };
  return [
    peakRatio('peak deliveries/s, Vigil/ws-batch', wsBatch, '>= 0.9'),
    peakRatio('peak deliveries/s, Vigil/ws', ws, '>= 0.9'),
    peakRatio('peak deliveries/s, Vigil/socket.io', sio, '>= 1.5'),
    ratio('p99 latency at half the ws peak rate (same load), Vigil/ws', m(vigil, refP99), m(ws, refP99), '<= 1.2'),
    ratio(
      'p99 latency at half the ws peak rate (same load), Vigil/ws-batch',
      m(vigil, refP99),
      m(wsBatch, refP99),
      null,
    ),
    ratio('p99 latency at half the ws peak rate (same load), Vigil/socket.io', m(vigil, refP99), m(sio, refP99), null),
    ratio('p99 latency at half its own peak, Vigil/ws', m(vigil, p99), m(ws, p99), null),
    ratio('p99 latency at half its own peak, Vigil/socket.io', m(vigil, p99), m(sio, p99), null),
    ratio('p50 latency at half its own peak, Vigil/ws', m(vigil, p50), m(ws, p50), null),
    ratio('p50 latency at half its own peak, Vigil/socket.io', m(vigil, p50), m(sio, p50), null),
    ratio('RSS per subscriber (fan-out), Vigil/ws', m(vigil, rss), m(ws, rss), null),
    ratio('RSS per subscriber (fan-out), Vigil/socket.io', m(vigil, rss), m(sio, rss), null),
    ratio('RSS per idle connection, Vigil/ws', idleVigil?.rssPerConnBytes, idleWs?.rssPerConnBytes, '<= 1.3'),
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

const num = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? '-' : String(round(n, digits));
const kib = (bytes: number | undefined): string => (bytes === undefined ? '-' : `${num(bytes / 1024, 1)} KiB`);
const kilo = (n: number | undefined): string => (n === undefined ? '-' : `${num(n / 1000, 1)}k`);
const pct = (n: number | undefined): string => (n === undefined ? '-' : `${Math.round(n)}%`);

export function formatReport(report: Report): string {
  const out: string[] = [];
  const fanoutIds = Object.keys(report.fanout);
  if (fanoutIds.length > 0) {
    const o = report.options;
    const shape = shapeOf(report);
    const spread =
      shape?.filtered === true
        ? `spread over ${shape.channels} channels, each subscription filtered (kinds), half the events match`
        : 'on one channel';
    out.push(
      `\nFan-out (shape ${shape?.id ?? 'one'}): ${o.subscribers} subscribers ${spread}, 1 publisher, ` +
        `~${o.eventBytes}-byte event frames; medians of ${o.runs} interleaved runs`,
    );
    const header = ['target', 'runs', 'frame B', 'peak deliv/s', 'peaks', 'srv CPU', 'gen CPU', 'saturated'];
    const rows = [[...header, 'own½ p50', 'own½ p99', 'same p50', 'same p99', 'RSS/sub']];
    let reference: number | null = null;
    for (const id of fanoutIds) {
      const all = report.fanout[id] ?? [];
      const runs = goodRuns(all);
      if (runs.length === 0) {
        rows.push([id, `0/${all.length}`, 'error', ...Array<string>(rows[0].length - 3).fill('-')]);
        continue;
      }
      reference ??= runs[0]!.referenceEventsPerSec;
      const m = (f: Figure) => medianOf(runs, f);
      const peakRun = runs.find((r) => r.peak?.deliveriesPerSec === m((x) => x.peak?.deliveriesPerSec));
      rows.push([
        runs[0]!.label,
        `${runs.length}/${all.length}`,
        String(runs[0]!.eventFrameBytes),
        (runs.some((r) => r.peakIsLowerBound) ? '>= ' : '') + kilo(m((r) => r.peak?.deliveriesPerSec)),
        runs.map((r) => kilo(r.peak?.deliveriesPerSec)).join(' '),
        pct(m((r) => r.peak?.cpu.serverPct)),
        pct(m((r) => r.peak?.cpu.generatorPct)),
        peakRun?.saturated ?? runs.map((r) => r.saturated).join('/'),
        num(m((r) => r.halfPeak?.latency.p50Ms)),
        num(m((r) => r.halfPeak?.latency.p99Ms)),
        num(m((r) => r.atReference?.latency.p50Ms)),
        num(m((r) => r.atReference?.latency.p99Ms)),
        kib(m((r) => r.rssPerConnBytes)),
      ]);
    }
    out.push(table(rows));
    out.push(
      'Each figure is the median over the good runs (runs: good/all); peaks: each run in order.\n' +
        'CPU: % of one core during the peak step; saturated: who used >= 90% of a core in the first failed step ' +
        '(of the median-peak run).\n' +
        "Latency in ms. own½: at half of the target's own peak rate; " +
        `same: at half of the raw ws peak${reference === null ? '' : ` (${num(reference, 1)} ev/s)`} for every target.`,
    );
  }
  const idleIds = Object.keys(report.idle);
  if (idleIds.length > 0) {
    out.push(`\nIdle connections`);
    const rows = [['target', 'connected', 'open after hold', 'connect ms', 'RSS delta', 'RSS/conn']];
    for (const id of idleIds) {
      const r = report.idle[id];
      if ('error' in r) rows.push([id, 'error', '-', '-', '-', '-']);
      else {
        const delta = `${num((r.rssAfterBytes - r.rssBeforeBytes) / 1048576, 1)} MiB`;
        rows.push([
          r.label,
          String(r.connected),
          String(r.stillOpen),
          String(r.connectMs),
          delta,
          kib(r.rssPerConnBytes),
        ]);
      }
    }
    out.push(table(rows));
  }
  const shown = report.ratios.filter((r) => r.value !== null);
  if (shown.length > 0) {
    out.push('\nRatios');
    const rows = [['ratio', 'value', 'budget', 'within']];
    for (const r of shown) {
      rows.push([
        r.name,
        num(r.value ?? undefined, 3),
        r.budget ?? '-',
        r.lowerBound ? '?' : r.pass === null ? '-' : r.pass ? 'yes' : 'NO',
      ]);
    }
    out.push(table(rows));
    if (shown.some((r) => r.lowerBound)) {
      out.push(
        '?: a peak in this ratio is only a lower bound (a ramp ended before any step failed), so it is not checked.',
      );
    }
  }
  const fanoutErrors = Object.entries(report.fanout).flatMap(([id, runs]) =>
    runs.flatMap((r, i) => ('error' in r ? [[`${id} run ${i + 1}`, r.error] as const] : [])),
  );
  const idleErrors = Object.entries(report.idle).flatMap(([id, r]) => ('error' in r ? [[id, r.error] as const] : []));
  for (const [id, error] of [...fanoutErrors, ...idleErrors]) out.push(`\n${id}: ${error}`);
  return out.join('\n');
}

export function writeReport(report: Report, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `fanout-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
