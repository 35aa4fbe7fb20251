/**
 * @module metrics/collector/system-collector
 * `SystemCollector`: reads `/proc` directly (no child processes, no libraries) and returns one batch of samples per
 * `collect(now)`. Rates and CPU shares are computed over the interval between two calls (using the `now` values
 * passed in), so the first call returns gauges only. Each part fails alone: a missing or unreadable file just leaves
 * its metrics out, and an unexpected error is kept in `lastErrors` instead of being thrown. See metrics/collector
 * (index) for the metric list.
 */
import { join } from 'node:path';
import type { Sample } from '../sample.js';
import { CpuTimesCollector } from './cpu-times.js';
import { DiskIoCollector } from './disk-io.js';
import { DiskUsageCollector, defaultStatfs, type StatfsFn } from './disk-usage.js';
import { LoadCollector } from './load-average.js';
import { MemoryCollector } from './memory-info.js';
import { NetIoCollector } from './net-io.js';
import { ProcessCollector } from './process-stats.js';

export interface SystemCollectorOptions {
  /** Where procfs is mounted; tests point this at fixtures. Default `/proc`. */
  procRoot?: string;
  /** Space of a mounted filesystem; defaults to `fs.statfsSync`. Tests inject a fake. */
  statfs?: StatfsFn;
  /** Whether to include the `process.*` metrics of this process. Default true. */
  includeProcess?: boolean;
}

/** One source of samples; each collector part implements this. */
export interface CollectorPart {
  collect(now: number, out: Sample[]): void;
}

interface Part {
  readonly name: string;
  readonly source: CollectorPart;
}

export class SystemCollector {
  /** Unexpected errors of the last `collect`, one message per failed part (expected to stay empty). */
  lastErrors: string[] = [];
  private readonly parts: Part[];
  private readonly processCollector: ProcessCollector | undefined;

  constructor(opts: SystemCollectorOptions = {}) {
    const root = opts.procRoot ?? '/proc';
    const statfs = opts.statfs ?? defaultStatfs;
    const parts: Part[] = [
      { name: 'cpu', source: new CpuTimesCollector(join(root, 'stat')) },
      { name: 'memory', source: new MemoryCollector(join(root, 'meminfo')) },
      { name: 'load', source: new LoadCollector(join(root, 'loadavg'), join(root, 'uptime')) },
      {
        name: 'disk usage',
        source: new DiskUsageCollector(join(root, 'self/mounts'), join(root, 'filesystems'), statfs),
      },
      { name: 'disk io', source: new DiskIoCollector(join(root, 'diskstats')) },
      { name: 'network', source: new NetIoCollector(join(root, 'net/dev')) },
    ];
    if (opts.includeProcess ?? true) {
      this.processCollector = new ProcessCollector();
      parts.push({ name: 'process', source: this.processCollector });
    }
    this.parts = parts;
  }

  /** Collects one batch stamped `now` (ms since the epoch). Never throws. */
  collect(now: number): Sample[] {
    const out: Sample[] = [];
    const errors: string[] = [];
    for (const part of this.parts) {
      const before = out.length;
      try {
        part.source.collect(now, out);
      } catch (err) {
        out.length = before;
        errors.push(`${part.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.lastErrors = errors;
    // Two decimals are all a dashboard or a rule needs, and they store at under 2 bytes a sample instead of ~7.
    for (const sample of out) {
      const v = sample.value;
      if (!Number.isInteger(v) && Number.isFinite(v)) sample.value = Math.round(v * 100) / 100;
    }
    return out;
  }

  /** Releases the event-loop delay timer. The collector must not be used afterwards. */
  close(): void {
    this.processCollector?.close();
  }
}
