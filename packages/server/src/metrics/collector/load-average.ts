/**
 * @module metrics/collector/load-average
 * Load averages from `/proc/loadavg` (`0.03 0.16 0.08 1/140 7048`) and system uptime from `/proc/uptime`.
 */
import type { Sample } from '../sample.js';
import { lineEnd, pushSample, readText, splitFields } from './proc-text.js';

export class LoadCollector {
  private readonly fields: string[] = [];

  constructor(
    private readonly loadavgPath: string,
    private readonly uptimePath: string,
  ) {}

  collect(now: number, out: Sample[]): void {
    const load = readText(this.loadavgPath);
    if (load !== undefined && splitFields(load, 0, lineEnd(load, 0), this.fields) >= 3) {
      const names = ['system.load.1m', 'system.load.5m', 'system.load.15m'];
      for (let i = 0; i < 3; i++) {
        const v = Number(this.fields[i]);
        if (Number.isFinite(v)) pushSample(out, names[i], v, {}, now);
      }
    }
    const uptime = readText(this.uptimePath);
    if (uptime !== undefined && splitFields(uptime, 0, lineEnd(uptime, 0), this.fields) >= 1) {
      const v = Number(this.fields[0]);
      if (Number.isFinite(v)) pushSample(out, 'system.uptime_s', v, {}, now);
    }
  }
}
