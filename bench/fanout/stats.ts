/**
 * @module bench/fanout/stats
 * Small numeric helpers: percentiles of latency samples and CPU-usage sampling of the generator and a server child.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ServerProcess } from './server-process.js';

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentiles; sorts `values` in place. */
export function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
  values.sort((a, b) => a - b);
  const rank = (p: number): number => values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];
  return { samples: values.length, p50Ms: rank(50), p99Ms: rank(99), maxMs: values[values.length - 1] };
}

export interface CpuWindow {
  /** CPU used by the server child over the window, as % of one core (user + system). */
  serverPct: number;
  /** Of which system (kernel) time. */
  serverSysPct: number;
  /** CPU used by this (generator) process over the window, as % of one core (user + system). */
  generatorPct: number;
  /** Of which system (kernel) time. */
  generatorSysPct: number;
  /** CPU used by everything else on the machine (other processes, softirqs) over the window: noise. */
  otherPct: number;
}

/** Busy ticks of the whole machine (all CPUs) from /proc/stat, in ms. */
function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const t = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7];
  return (busy * 1000) / 100;
}

/** Starts a CPU measurement window; call the returned function to close it. */
export function cpuWindow(server: Pick<ServerProcess, 'cpuMs'>): () => CpuWindow {
  const t0 = performance.now();
  const s0 = server.cpuMs();
  const g0 = process.cpuUsage();
  const m0 = machineBusyMs();
  return () => {
    const wall = performance.now() - t0;
    const g = process.cpuUsage(g0);
    const s = server.cpuMs();
    const serverMs = s.total - s0.total;
    const generatorMs = (g.user + g.system) / 1000;
    const pct = (ms: number): number => round((ms / wall) * 100, 1);
    return {
      serverPct: pct(serverMs),
      serverSysPct: pct(s.system - s0.system),
      generatorPct: pct(generatorMs),
      generatorSysPct: pct(g.system / 1000),
      otherPct: pct(Math.max(0, machineBusyMs() - m0 - serverMs - generatorMs)),
    };
  };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
