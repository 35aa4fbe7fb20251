/**
 * @module metrics/collector/disk-io
 * Disk throughput per block device from `/proc/diskstats` (sectors are always 512 bytes there). Rates need two
 * snapshots, so the first collect only records a baseline; a counter that goes backwards skips one interval.
 *
 * Skipped: `loop*`, `ram*` and `zram*` devices, partitions (`sda1` of `sda`, `nvme0n1p1` of `nvme0n1`: the kernel
 * names a partition `<disk><N>`, or `<disk>p<N>` when the disk name ends in a digit), and devices that have never
 * done any I/O since boot.
 */
import type { Sample } from '../sample.js';
import { CounterSnapshots, lineEnd, pushSample, ratePerSecond, readText, splitFields } from './proc-text.js';

const SECTOR_BYTES = 512;

/** Cumulative counters kept per device. */
export interface DiskCounters {
  reads: number;
  readSectors: number;
  writes: number;
  writtenSectors: number;
  /** Milliseconds spent doing I/O. */
  ioMs: number;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when `name` is a partition of another device in `names`, by the kernel's naming rule. */
export function isPartition(name: string, names: ReadonlySet<string>): boolean {
  let i = name.length;
  while (i > 0 && isDigitCode(name.charCodeAt(i - 1))) i--;
  if (i === name.length || i === 0) return false;
  const base = name.slice(0, i);
  if (base.endsWith('p') && base.length > 1 && isDigitCode(base.charCodeAt(base.length - 2))) {
    return names.has(base.slice(0, -1));
  }
  return !isDigitCode(base.charCodeAt(base.length - 1)) && names.has(base);
}

function isVirtualDevice(name: string): boolean {
  return name.startsWith('loop') || name.startsWith('ram') || name.startsWith('zram');
}

/** Parses `/proc/diskstats` into counters for the whole, real, used disks. */
export function parseDiskstats(text: string): Map<string, DiskCounters> {
  const all = new Map<string, DiskCounters>();
  const fields: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = lineEnd(text, start);
    const n = splitFields(text, start, end, fields);
    start = end + 1;
    if (n < 14) continue;
    const name = fields[2];
    if (isVirtualDevice(name)) continue;
    const c: DiskCounters = {
      reads: Number(fields[3]),
      readSectors: Number(fields[5]),
      writes: Number(fields[7]),
      writtenSectors: Number(fields[9]),
      ioMs: Number(fields[12]),
    };
    if (c.reads + c.writes > 0) all.set(name, c);
  }
  const names = new Set(all.keys());
  for (const name of names) if (isPartition(name, names)) all.delete(name);
  return all;
}

export class DiskIoCollector {
  private readonly snapshots = new CounterSnapshots<DiskCounters>();

  constructor(private readonly path: string) {}

  collect(now: number, out: Sample[]): void {
    const text = readText(this.path);
    if (text === undefined) return;
    const current = parseDiskstats(text);
    const step = this.snapshots.advance(current, now);
    if (step === undefined) return;
    const { prev, seconds } = step;
    for (const [device, c] of current) {
      const p = prev.get(device);
      if (p === undefined) continue;
      const readBytes = ratePerSecond(c.readSectors * SECTOR_BYTES, p.readSectors * SECTOR_BYTES, seconds);
      const writeBytes = ratePerSecond(c.writtenSectors * SECTOR_BYTES, p.writtenSectors * SECTOR_BYTES, seconds);
      const reads = ratePerSecond(c.reads, p.reads, seconds);
      const writes = ratePerSecond(c.writes, p.writes, seconds);
      const busyMs = c.ioMs - p.ioMs;
      if (readBytes === undefined || writeBytes === undefined || reads === undefined || writes === undefined) continue;
      if (busyMs < 0) continue;
      pushSample(out, 'system.disk.read_bytes_per_s', readBytes, { device }, now);
      pushSample(out, 'system.disk.write_bytes_per_s', writeBytes, { device }, now);
      pushSample(out, 'system.disk.reads_per_s', reads, { device }, now);
      pushSample(out, 'system.disk.writes_per_s', writes, { device }, now);
      pushSample(out, 'system.disk.io_util_percent', Math.min(100, busyMs / (seconds * 10)), { device }, now);
    }
  }
}
