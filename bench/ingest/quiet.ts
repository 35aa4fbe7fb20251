/**
 * @module bench/ingest/quiet
 * Machine noise: CPU used by the whole machine from /proc/stat, and `waitQuiet`, which holds a phase back (bounded)
 * until other processes leave the cores mostly idle, so runs on a shared box are comparable.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Busy time of all CPUs since boot, ms (user nice system irq softirq steal). */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const t = line.trim().split(/\s+/).slice(1).map(Number);
  return ((t[0]! + t[1]! + t[2]! + t[5]! + t[6]! + t[7]!) * 1000) / 100;
}

/** Machine CPU over `ms`, as % of one core. */
export async function machineBusyPct(ms: number): Promise<number> {
  const b0 = machineBusyMs();
  const t0 = performance.now();
  await sleep(ms);
  return ((machineBusyMs() - b0) / (performance.now() - t0)) * 100;
}

export interface QuietResult {
  quiet: boolean;
  waitedMs: number;
  /** Machine CPU in the last window, % of one core. */
  busyPct: number;
}

/** Waits until the machine uses less than `limitPct` of one core over a 500 ms window, for at most `maxWaitMs`. */
export async function waitQuiet(limitPct = 30, maxWaitMs = 20_000): Promise<QuietResult> {
  const t0 = performance.now();
  let busy = await machineBusyPct(500);
  while (busy >= limitPct && performance.now() - t0 < maxWaitMs) busy = await machineBusyPct(500);
  return { quiet: busy < limitPct, waitedMs: Math.round(performance.now() - t0), busyPct: Math.round(busy) };
}
