/**
 * @module bench/fanout/report
 * Turns scenario results into ratios against the peers, checks them against the budgets of DESIGN.md, prints
 * readable tables, and writes the JSON report to `bench/results/fanout-<timestamp>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FanoutResult } from './fanout.js';
import type { IdleResult } from './idle.js';
import { round } from './stats.js';

export interface Ratio {
  name: string;
  value: number | null;
  /** The DESIGN.md budget, e.g. `>= 0.9`; null when there is none. */
  budget: string | null;
  pass: boolean | null;
}

export interface Report {
  startedAt: string;
  durationS: number;
  environment: Record<string, string | number>;
  options: Record<string, unknown>;
  fanout: Record<string, FanoutResult | { error: string }>;
  idle: Record<string, IdleResult | { error: string }>;
  ratios: Ratio[];
}

function ok<T extends object>(r: T | { error: string } | undefined): T | null {
  return r === undefined || 'error' in r ? null : r;
}

function ratio(name: string, a: number | undefined, b: number | undefined, budget: string | null): Ratio {
  const value =
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b;
  let pass: boolean | null = null;
  if (value !== null && budget !== null) {
    const limit = Number(budget.slice(3));
    pass = budget.startsWith('>=') ? value >= limit : value <= limit;
  }
  return { name, value: value === null ? null : round(value, 3), budget, pass };
}

export function computeRatios(report: Report): Ratio[] {
  const ws = ok(report.fanout.ws);
  const sio = ok(report.fanout.socketio);
  const vigil = ok(report.fanout.vigil);
  const wsBatch = ok(report.fanout['ws-batch']);
  const idleWs = ok(report.idle.ws);
  const idleVigil = ok(report.idle.vigil);
  const peak = (r: FanoutResult | null): number | undefined => r?.peak?.deliveriesPerSec;
  const p99 = (r: FanoutResult | null): number | undefined => r?.halfPeak?.latency.p99Ms;
  const p50 = (r: FanoutResult | null): number | undefined => r?.halfPeak?.latency.p50Ms;
  const refP99 = (r: FanoutResult | null): number | undefined => r?.atReference?.latency.p99Ms;
  const mem = (r: { rssPerConnBytes: number } | null): number | undefined => r?.rssPerConnBytes;
  return [
    ratio('peak deliveries/s, Vigil/ws', peak(vigil), peak(ws), '>= 0.9'),
    ratio('peak deliveries/s, Vigil/socket.io', peak(vigil), peak(sio), '>= 1.5'),
    ratio('peak deliveries/s, Vigil/ws-batch', peak(vigil), peak(wsBatch), null),
    ratio('p99 latency at half the ws peak rate (same load), Vigil/ws', refP99(vigil), refP99(ws), '<= 1.2'),
    ratio('p99 latency at half the ws peak rate (same load), Vigil/socket.io', refP99(vigil), refP99(sio), null),
    ratio('p99 latency at half its own peak, Vigil/ws', p99(vigil), p99(ws), null),
    ratio('p99 latency at half its own peak, Vigil/socket.io', p99(vigil), p99(sio), null),
    ratio('p50 latency at half its own peak, Vigil/ws', p50(vigil), p50(ws), null),
    ratio('p50 latency at half its own peak, Vigil/socket.io', p50(vigil), p50(sio), null),
    ratio('RSS per subscriber (fan-out), Vigil/ws', mem(vigil), mem(ws), null),
    ratio('RSS per subscriber (fan-out), Vigil/socket.io', mem(vigil), mem(sio), null),
    ratio('RSS per idle connection, Vigil/ws', mem(idleVigil), mem(idleWs), '<= 1.3'),
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

export function formatReport(report: Report): string {
  const out: string[] = [];
  const fanoutIds = Object.keys(report.fanout);
  if (fanoutIds.length > 0) {
    const o = report.options;
    out.push(`\nFan-out: ${o.subscribers} subscribers, 1 publisher, ~${o.eventBytes}-byte event frames`);
    const header = ['target', 'frame B', 'peak deliv/s', 'at ev/s', 'srv CPU', 'gen CPU', 'saturated'];
    const rows = [[...header, 'own½ p50', 'own½ p99', 'same p50', 'same p99', 'RSS/sub']];
    let reference: number | null = null;
    for (const id of fanoutIds) {
      const r = report.fanout[id];
      if ('error' in r) {
        rows.push([id, 'error', ...Array<string>(rows[0].length - 2).fill('-')]);
        continue;
      }
      reference ??= r.referenceEventsPerSec;
      rows.push([
        r.label,
        String(r.eventFrameBytes),
        (r.peakIsLowerBound ? '>= ' : '') + kilo(r.peak?.deliveriesPerSec),
        num(r.peak?.eventsPerSec, 0),
        r.peak ? `${Math.round(r.peak.cpu.serverPct)}%` : '-',
        r.peak ? `${Math.round(r.peak.cpu.generatorPct)}%` : '-',
        r.saturated,
        num(r.halfPeak?.latency.p50Ms),
        num(r.halfPeak?.latency.p99Ms),
        num(r.atReference?.latency.p50Ms),
        num(r.atReference?.latency.p99Ms),
        kib(r.rssPerConnBytes),
      ]);
    }
    out.push(table(rows));
    out.push(
      'CPU: % of one core during the peak step; saturated: who used >= 90% of a core in the first failed step.\n' +
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
      rows.push([r.name, num(r.value ?? undefined, 3), r.budget ?? '-', r.pass === null ? '-' : r.pass ? 'yes' : 'NO']);
    }
    out.push(table(rows));
  }
  const errors = [...Object.entries(report.fanout), ...Object.entries(report.idle)].filter(([, r]) => 'error' in r);
  for (const [id, r] of errors) out.push(`\n${id}: ${(r as { error: string }).error}`);
  return out.join('\n');
}

export function writeReport(report: Report, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `fanout-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
