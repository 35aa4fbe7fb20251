/**
 * @module metrics/collector/process-stats
 * The hub's own process: CPU share (from `process.cpuUsage`, over the interval since the previous collect, so not on
 * the first one; 100 = one core), resident set size, V8 heap, uptime, and event-loop lag from
 * `perf_hooks.monitorEventLoopDelay`. That histogram samples the loop with a timer every `resolution` ms and records
 * the whole timer interval, so the lag reported is the recorded delay minus the resolution (floored at 0). It is
 * reset on every collect, so each sample covers one interval.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Sample } from '../sample.js';
import { pushSample } from './proc-text.js';

const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

export class ProcessCollector {
  private readonly loopDelay: IntervalHistogram;
  private prevCpu: NodeJS.CpuUsage | undefined;
  private prevTs = 0;

  constructor() {
    this.loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.loopDelay.enable();
  }

  collect(now: number, out: Sample[]): void {
    const cpu = process.cpuUsage();
    const prevCpu = this.prevCpu;
    const elapsedMs = now - this.prevTs;
    this.prevCpu = cpu;
    this.prevTs = now;
    if (prevCpu !== undefined && elapsedMs > 0) {
      const usedMicros = cpu.user - prevCpu.user + (cpu.system - prevCpu.system);
      pushSample(out, 'process.cpu.percent', Math.max(0, usedMicros / (elapsedMs * 10)), {}, now);
    }

    const mem = process.memoryUsage();
    pushSample(out, 'process.memory.rss_bytes', mem.rss, {}, now);
    pushSample(out, 'process.heap.used_bytes', mem.heapUsed, {}, now);
    pushSample(out, 'process.heap.total_bytes', mem.heapTotal, {}, now);
    pushSample(out, 'process.memory.external_bytes', mem.external, {}, now);
    pushSample(out, 'process.uptime_s', process.uptime(), {}, now);

    const h = this.loopDelay;
    if (h.count > 0) {
      const lag = (ns: number) => Math.max(0, ns / NS_PER_MS - RESOLUTION_MS);
      pushSample(out, 'process.eventloop.lag_ms', lag(h.mean), {}, now);
      pushSample(out, 'process.eventloop.lag_p99_ms', lag(h.percentile(99)), {}, now);
      pushSample(out, 'process.eventloop.lag_max_ms', lag(h.max), {}, now);
      h.reset();
    }
  }

  /** Stops the event-loop delay timer. */
  close(): void {
    this.loopDelay.disable();
  }
}
