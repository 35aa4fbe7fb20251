/**
 * @module bench/ingest/report
 * The ingest bench's report: budget checks from DESIGN.md and Vigil/plain-SQLite ratios, the printed tables, and the
 * JSON file `bench/results/ingest-<timestamp>.json`. `table` and `writeJson` are shared with the alert bench.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from '../fanout/stats.js';
import type { PeerResult } from './peer-process.js';
import type { ProfileSummary } from './profile.js';
import type { QueryVariantResult } from './query.js';
import type { StorageResult } from './storage.js';
import type { ThroughputResult } from './throughput.js';
import type { VersusCase } from './versus.js';

export type Outcome<T> = T | { error: string };

export interface Check {
  name: string;
  value: number | null;
  /** `>= 300000`, `<= 4`, `< 50`; null for a ratio without a budget. */
  budget: string | null;
  pass: boolean | null;
}

export interface QueryPhase {
  ingest: { accepted: number; rejected: number; ms: number };
  restartMs: number;
  /** Chunks and samples of the queried series in the store after the restart. */
  chunks: number;
  variants: QueryVariantResult[];
}

export type VersusOutcome = VersusCase | { dataset: string; series: number; error: string };

export interface IngestReport {
  startedAt: string;
  durationS: number;
  environment: Record<string, string | number>;
  options: Record<string, unknown>;
  throughput: Outcome<ThroughputResult>[];
  storage: Outcome<StorageResult> | null;
  query: Outcome<QueryPhase> | null;
  peer: Outcome<PeerResult> | null;
  /** Against VictoriaMetrics (`versus.ts`); `skipped` when it is not installed. */
  versus: { cases: VersusOutcome[] } | { skipped: string } | null;
  profiles: Record<string, ProfileSummary & { path: string }>;
  checks: Check[];
}

export function ok<T extends object>(r: Outcome<T> | null | undefined): T | null {
  return r === null || r === undefined || 'error' in r ? null : r;
}

export function check(name: string, value: number | null | undefined, budget: string | null): Check {
  const v = value === null || value === undefined || !Number.isFinite(value) ? null : value;
  let pass: boolean | null = null;
  if (v !== null && budget !== null) {
    const m = /^(>=|<=|<|>)\s*(.+)$/.exec(budget)!;
    const limit = Number(m[2]);
    pass = m[1] === '>=' ? v >= limit : m[1] === '<=' ? v <= limit : m[1] === '<' ? v < limit : v > limit;
  }
  return { name, value: v === null ? null : round(v, 3), budget, pass };
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b;
}

export function computeChecks(r: IngestReport): Check[] {
  const out: Check[] = [];
  const peer = ok(r.peer);
  for (const t of r.throughput) {
    const tp = ok(t);
    if (!tp) continue;
    const label = `${tp.format}, ${tp.series} series`;
    out.push(check(`ingest samples/s (${label})`, tp.samplesPerSec, '>= 300000'));
    out.push(check(`ingest samples/s (${label}), Vigil/plain SQLite`, ratio(tp.samplesPerSec, peer?.rowsPerSec), null));
  }
  const storage = ok(r.storage);
  out.push(check('bytes on disk per raw sample', storage?.bytesPerSample, '<= 4'));
  out.push(check('bytes per sample, Vigil/plain SQLite', ratio(storage?.bytesPerSample, peer?.bytesPerSample), null));
  const query = ok(r.query);
  for (const v of query?.variants ?? []) {
    const p = peer?.queries.find((q) => q.stepMs === v.stepMs);
    out.push(check(`24 h query p99 ms, ${v.label} (${v.tier})`, v.latency.p99Ms, '< 50'));
    out.push(check(`24 h query p50, ${v.label}, Vigil/plain SQLite`, ratio(v.latency.p50Ms, p?.latency.p50Ms), null));
    out.push(check(`24 h query p99, ${v.label}, Vigil/plain SQLite`, ratio(v.latency.p99Ms, p?.latency.p99Ms), null));
  }
  if (r.versus !== null && 'cases' in r.versus) {
    for (const c of r.versus.cases) {
      if ('error' in c) continue;
      const label = `${c.dataset}, ${c.series} series`;
      out.push(check(`ingest samples/s, Vigil/VictoriaMetrics (influx, ${label}), medians`, c.ingestRatio, '>= 0.5'));
      out.push(check(`bytes/sample, Vigil/VictoriaMetrics (${label})`, c.diskRatio, '<= 2'));
    }
  }
  return out;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}

export const num = (n: number | null | undefined, digits = 2): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : String(round(n, digits));
const kilo = (n: number | undefined): string => (n === undefined ? '-' : `${num(n / 1000, 1)}k`);
const mib = (b: number): string => `${num(b / 1048576, 1)} MiB`;

export function formatReport(r: IngestReport): string {
  const out: string[] = [];
  if (r.throughput.length > 0) {
    out.push('\nIngest over HTTP (stored: replies after durable; streamed: one WS subscriber on metrics.>)');
    const rows = [
      ['format', 'series', 'conns', 'samples/s', 'req p50', 'req p99', 'events/s', 'pub', 'recv', 'drops', 'srv CPU'],
    ];
    rows[0]!.push('gen CPU', 'other', 'rejected');
    for (const t of r.throughput) {
      if ('error' in t) {
        rows.push(['error', t.error.slice(0, 60), ...Array<string>(rows[0]!.length - 2).fill('-')]);
        continue;
      }
      rows.push([
        t.format,
        String(t.series),
        String(t.connections),
        kilo(t.samplesPerSec),
        num(t.requestLatency.p50Ms, 1),
        num(t.requestLatency.p99Ms, 1),
        kilo(t.events.perSec),
        String(t.events.published),
        String(t.events.receivedToDrain),
        String(t.events.queueDrops),
        `${Math.round(t.cpu.serverPct)}%`,
        `${Math.round(t.cpu.generatorPct)}%`,
        `${Math.round(t.cpu.otherPct)}%${t.noise?.noisy ? '!' : ''}`,
        String(t.rejected),
      ]);
    }
    out.push(table(rows));
    out.push(
      'req p50/p99: ms per request (POST to durable reply). pub: events the hub published from the window start\n' +
        'until the stream drained; recv: events the subscriber got in that span; drops: the hub queue_drops.\n' +
        'CPU: % of one core over the window; other: every other process on the machine (! = noisy after a retry).',
    );
  }
  const storage = r.storage;
  if (storage) {
    out.push('\nBytes on disk per raw sample');
    if ('error' in storage) out.push(`error: ${storage.error}`);
    else {
      const l = storage.layout;
      out.push(
        table([
          ['samples', 'vigil.db', '-wal', 'bytes/sample', 'chunk payload B/sample', 'chunks', 'samples/chunk', 'stop'],
          [
            String(storage.samples),
            mib(l.fileBytes),
            mib(l.walBytes),
            num(storage.bytesPerSample, 3),
            num(storage.chunkPayloadBytesPerSample, 3),
            String(l.chunks),
            num(storage.avgSamplesPerChunk, 1),
            `${storage.stop.graceful ? 'graceful' : 'KILLED'} ${storage.stop.ms} ms`,
          ],
        ]),
      );
      out.push(`by table/index: ${l.objects.map((o) => `${o.name} ${mib(o.bytes)}`).join(', ')}`);
    }
  }
  const query = r.query;
  const peer = ok(r.peer);
  if (query) {
    out.push('\n24 h of 1 s data, one series: range-query latency (ms)');
    if ('error' in query) out.push(`error: ${query.error}`);
    else {
      const rows = [['query', 'step ms', 'tier', 'points', 'p50', 'p99', 'max', 'plain p50', 'plain p99']];
      for (const v of query.variants) {
        const p = peer?.queries.find((q) => q.stepMs === v.stepMs);
        rows.push([
          v.label,
          String(v.stepMs),
          v.tier,
          String(v.points),
          num(v.latency.p50Ms),
          num(v.latency.p99Ms),
          num(v.latency.maxMs),
          num(p?.latency.p50Ms),
          num(p?.latency.p99Ms),
        ]);
      }
      out.push(table(rows));
      out.push(`store chunks of the series: ${query.chunks} (posted in bulk, sealed at the restart)`);
    }
  }
  if (r.peer) {
    out.push('\nPeer: plain SQLite rows (better-sqlite3, WAL, index (series, ts))');
    if ('error' in r.peer) out.push(`error: ${r.peer.error}`);
    else {
      const p = r.peer;
      out.push(
        table([
          ['rows', 'rows/s', 'CPU', 'db', 'bytes/sample'],
          [String(p.rows), kilo(p.rowsPerSec), `${p.cpuPct}%`, mib(p.fileBytes + p.walBytes), num(p.bytesPerSample, 2)],
        ]),
      );
    }
  }
  if (r.versus !== null) {
    out.push('\nAgainst VictoriaMetrics: Influx line protocol, one connection (samples/s: median of the runs)');
    if ('skipped' in r.versus) out.push(`skipped: ${r.versus.skipped}`);
    else {
      const rows = [
        ['data set', 'series', 'samples', 'VM samples/s', 'Vigil samples/s', 'ratio', 'VM CPU', 'Vigil CPU'],
      ];
      rows[0]!.push('VM µs/sample', 'Vigil µs/sample');
      rows[0]!.push('VM B/sample', 'Vigil B/sample', 'ratio');
      for (const c of r.versus.cases) {
        if ('error' in c) {
          rows.push([c.dataset, String(c.series), `error: ${c.error.slice(0, 60)}`]);
          continue;
        }
        const cpu = (t: 'victoria' | 'vigil') => {
          const xs = c.runs.filter((x) => x.target === t).map((x) => Math.round(x.cpu.serverPct));
          return `${xs.join('/')}%`;
        };
        const b = (t: 'victoria' | 'vigil') => {
          const d = c.disk[t];
          return d === undefined ? '-' : `${num(d.bytesPerSample, 3)}${d.settled ? '' : '!'}`;
        };
        rows.push([
          c.dataset,
          String(c.series),
          String(c.samples),
          kilo(c.median.victoria),
          kilo(c.median.vigil),
          num(c.ingestRatio, 2),
          cpu('victoria'),
          cpu('vigil'),
          num(c.cpuUsPerSample.victoria, 2),
          num(c.cpuUsPerSample.vigil, 2),
          b('victoria'),
          b('vigil'),
          num(c.diskRatio, 2),
        ]);
      }
      out.push(table(rows));
      out.push(
        'CPU: server process, % of one core, per run; µs/sample: server CPU time per sample (median). B/sample: the\n' +
          'whole data directory once settled, while running (! = it had not settled in time). Ratios are Vigil /\n' +
          `VictoriaMetrics. Load average at the end of each case: ${r.versus.cases
            .map((c) => ('loadAvg' in c ? c.loadAvg.join('/') : '-'))
            .join(', ')}.`,
      );
    }
  }
  for (const [name, prof] of Object.entries(r.profiles)) {
    out.push(
      `\nServer CPU profile, ${name}: measured window (${prof.durationMs} ms), main thread busy ${prof.busyPct}%; ` +
        `self time, top ${prof.rows.length}\n${prof.path}`,
    );
    out.push(table([['function', 'self %', 'where'], ...prof.rows.map((x) => [x.fn, num(x.selfPct, 1), x.where])]));
  }
  if (r.checks.length > 0) {
    out.push('\nBudgets (DESIGN.md) and ratios');
    const rows = [['check', 'value', 'budget', 'within']];
    for (const c of r.checks) {
      rows.push([c.name, num(c.value, 3), c.budget ?? '-', c.pass === null ? '-' : c.pass ? 'yes' : 'NO']);
    }
    out.push(table(rows));
  }
  return out.join('\n');
}

/** Writes `<dir>/<prefix>-<timestamp>.json`; returns the path. */
export function writeJson(dir: string, prefix: string, startedAt: string, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${prefix}-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
