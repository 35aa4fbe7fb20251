/**
 * @module bench/ingest/profile
 * Summarises a V8 `.cpuprofile` (written by a server child started with `--cpu-prof`): self time per function,
 * largest first, as % of all samples, with the garbage collector and idle time as their own rows.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  /** Microseconds between samples; the first is relative to `startTime`. */
  timeDeltas?: number[];
  /** CLOCK_MONOTONIC, microseconds (the same clock as `process.hrtime`). */
  startTime: number;
  endTime: number;
}

/** Now on the clock V8 stamps profiles with (CLOCK_MONOTONIC), in microseconds. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface ProfileRow {
  fn: string;
  where: string;
  /** Self time as % of the samples in the window, idle included. */
  selfPct: number;
}

export interface ProfileSummary {
  /** Length of the summarised span, ms. */
  durationMs: number;
  /** Share of that span the main thread was not idle, %. */
  busyPct: number;
  rows: ProfileRow[];
}

function shortUrl(url: string): string {
  const at = url.search(/packages\/|node_modules\//);
  if (at >= 0) return url.slice(at);
  return url.replace(/^file:\/\//, '') || '(native)';
}

/**
 * Self time per function, largest first. With `window` (`[from, to]` from `monotonicUs()` in any process on the
 * machine), only samples taken inside it count.
 */
export function summarizeProfile(path: string, top = 15, window?: [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const hits = new Map<number, number>();
  let span = profile.endTime - profile.startTime;
  if (profile.samples && profile.timeDeltas) {
    let t = profile.startTime;
    const [from, to] = window ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      if (t < from || t > to) continue;
      const id = profile.samples[i]!;
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    if (window) span = Math.min(to, profile.endTime) - Math.max(from, profile.startTime);
  } else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  let total = 0;
  let idle = 0;
  const byFn = new Map<string, ProfileRow & { hits: number }>();
  for (const n of profile.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (h === 0) continue;
    total += h;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') idle += h;
    const where = n.callFrame.url ? `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${fn} ${where}`;
    const row = byFn.get(key) ?? { fn, where, selfPct: 0, hits: 0 };
    row.hits += h;
    byFn.set(key, row);
  }
  const pct = (h: number): number => Math.round((h / Math.max(1, total)) * 1000) / 10;
  const rows = [...byFn.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((r) => ({ fn: r.fn, where: r.where, selfPct: pct(r.hits) }));
  return { durationMs: Math.round(span / 1000), busyPct: pct(total - idle), rows };
}

/** The newest `.cpuprofile` in `dir` written after `since` (ms since the epoch), if any. */
export function newestProfile(dir: string, since: number): string | undefined {
  let best: { path: string; mtime: number } | undefined;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.endsWith('.cpuprofile')) continue;
    const path = join(dir, name);
    const mtime = statSync(path).mtimeMs;
    if (mtime >= since && (!best || mtime > best.mtime)) best = { path, mtime };
  }
  return best?.path;
}
