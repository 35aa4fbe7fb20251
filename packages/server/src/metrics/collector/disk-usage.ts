/**
 * @module metrics/collector/disk-usage
 * Space per mounted filesystem: `/proc/self/mounts` filtered to real filesystems, then `statfs` per mount.
 *
 * Real filesystems are the types `/proc/filesystems` lists without `nodev` (ext4, xfs, btrfs, vfat, fuseblk, ...),
 * plus `zfs`, plus `overlay` when mounted at `/` (a container's root), minus `squashfs` (read-only images, always
 * full). Network filesystems are left out on purpose: a synchronous statfs on a hung NFS mount would block the hub.
 * A device mounted at several places (bind mounts, btrfs subvolumes) is reported once, at its shortest mount point.
 * The parsed mount list is cached until the mounts file changes.
 */
import { statfsSync } from 'node:fs';
import type { Sample } from '../sample.js';
import { lineEnd, pushSample, readText, splitFields } from './proc-text.js';

/** The statfs fields the collector uses (a subset of `fs.StatsFs`). */
export interface FsSpace {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export type StatfsFn = (path: string) => FsSpace | undefined;

export interface Mount {
  device: string;
  mount: string;
  fstype: string;
}

/** Types used when `/proc/filesystems` cannot be read. */
const FALLBACK_TYPES = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'fuseblk', 'f2fs'];

export const defaultStatfs: StatfsFn = (path) => {
  try {
    return statfsSync(path);
  } catch {
    return undefined;
  }
};

/** Decodes the octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash) of mounts fields. */
export function unescapeMountField(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 92 && i + 3 < s.length && isOctal(s, i + 1) && isOctal(s, i + 2) && isOctal(s, i + 3)) {
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

function isOctal(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 55;
}

/** Parses `/proc/filesystems` into the set of block-device-backed filesystem types. */
export function parseRealFsTypes(text: string | undefined): Set<string> {
  const types = new Set<string>();
  if (text === undefined) {
    for (const t of FALLBACK_TYPES) types.add(t);
  } else {
    const fields: string[] = [];
    let start = 0;
    while (start < text.length) {
      const end = lineEnd(text, start);
      const n = splitFields(text, start, end, fields);
      if (n === 1) types.add(fields[0]);
      start = end + 1;
    }
  }
  types.add('zfs');
  types.delete('squashfs');
  return types;
}

/** Selects the real filesystems of a mounts file, one mount per device. */
export function parseMounts(text: string, realTypes: ReadonlySet<string>): Mount[] {
  const byDevice = new Map<string, Mount>();
  const fields: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = lineEnd(text, start);
    const n = splitFields(text, start, end, fields);
    start = end + 1;
    if (n < 3) continue;
    const fstype = fields[2];
    const mount = unescapeMountField(fields[1]);
    if (!realTypes.has(fstype) && !(fstype === 'overlay' && mount === '/')) continue;
    const device = unescapeMountField(fields[0]);
    const seen = byDevice.get(device);
    if (seen === undefined || mount.length < seen.mount.length) byDevice.set(device, { device, mount, fstype });
  }
  return [...byDevice.values()];
}

export class DiskUsageCollector {
  private realTypes: Set<string> | undefined;
  private mountsText: string | undefined;
  private mounts: Mount[] = [];

  constructor(
    private readonly mountsPath: string,
    private readonly filesystemsPath: string,
    private readonly statfs: StatfsFn,
  ) {}

  collect(now: number, out: Sample[]): void {
    const text = readText(this.mountsPath);
    if (text === undefined) return;
    if (text !== this.mountsText) {
      this.realTypes ??= parseRealFsTypes(readText(this.filesystemsPath));
      this.mounts = parseMounts(text, this.realTypes);
      this.mountsText = text;
    }
    for (const m of this.mounts) {
      const s = this.statfs(m.mount);
      if (s === undefined || s.blocks <= 0) continue;
      const total = s.blocks * s.bsize;
      const used = (s.blocks - s.bfree) * s.bsize;
      const free = s.bavail * s.bsize;
      const usable = used + free;
      const labels = () => ({ mount: m.mount, device: m.device, fstype: m.fstype });
      pushSample(out, 'system.disk.total_bytes', total, labels(), now);
      pushSample(out, 'system.disk.used_bytes', used, labels(), now);
      pushSample(out, 'system.disk.free_bytes', free, labels(), now);
      pushSample(out, 'system.disk.used_percent', usable > 0 ? (used / usable) * 100 : 0, labels(), now);
    }
  }
}
