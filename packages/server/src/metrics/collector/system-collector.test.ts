/** @module metrics/collector/system-collector.test — the collector against fixture /proc trees and the real /proc. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLabelName, checkMetricName, type Sample } from '../sample.js';
import { unescapeMountField } from './disk-usage.js';
import { isPartition, parseMounts, parseNetDev, parseRealFsTypes, type StatfsFn, SystemCollector } from './index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const GiB = 1024 ** 3;

/** A fake statfs: 4 KiB blocks, sizes per mount point. */
const fakeStatfs: StatfsFn = (path) => {
  const sizes: Record<string, [blocks: number, bfree: number, bavail: number]> = {
    '/': [25_000_000, 10_000_000, 9_000_000],
    '/boot/efi': [100_000, 90_000, 90_000],
    '/mnt/my data': [1_000_000, 1_000_000, 1_000_000],
    '/home': [50_000_000, 40_000_000, 40_000_000],
  };
  const s = sizes[path];
  return s === undefined ? undefined : { bsize: 4096, blocks: s[0], bfree: s[1], bavail: s[2] };
};

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit?.value;
}

function approx(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what} missing`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

describe('SystemCollector on fixtures', () => {
  const root = mkdtempSync(join(tmpdir(), 'vigil-proc-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(FIXTURES, 't0'), root, { recursive: true });
  const collector = new SystemCollector({ procRoot: root, statfs: fakeStatfs, includeProcess: false });
  const first = collector.collect(1000);
  cpSync(join(FIXTURES, 't1'), root, { recursive: true });
  const second = collector.collect(3000);

  it('returns gauges only on the first collect', () => {
    assert.deepEqual(collector.lastErrors, []);
    assert.ok(first.every((s) => s.ts === 1000));
    const names = new Set(first.map((s) => s.name));
    assert.ok(names.has('system.memory.used_bytes'));
    assert.ok(names.has('system.disk.used_bytes'));
    for (const name of names) assert.ok(!/cpu|_per_s|util/.test(name), `unexpected rate ${name} on first collect`);
  });

  it('computes CPU shares per core and in total', () => {
    approx(find(second, 'system.cpu.user', { cpu: 'total' }), 20, 'total user');
    approx(find(second, 'system.cpu.system', { cpu: 'total' }), 15, 'total system');
    approx(find(second, 'system.cpu.iowait', { cpu: 'total' }), 5, 'total iowait');
    approx(find(second, 'system.cpu.steal', { cpu: 'total' }), 0, 'total steal');
    approx(find(second, 'system.cpu.idle', { cpu: 'total' }), 60, 'total idle');
    approx(find(second, 'system.cpu.usage', { cpu: 'total' }), 35, 'total usage');
    approx(find(second, 'system.cpu.user', { cpu: '0' }), 40, 'cpu0 user');
    approx(find(second, 'system.cpu.steal', { cpu: '0' }), 5, 'cpu0 steal');
    approx(find(second, 'system.cpu.usage', { cpu: '0' }), 55, 'cpu0 usage');
    // cpu1's iowait went backwards: clamped to 0, not negative.
    approx(find(second, 'system.cpu.iowait', { cpu: '1' }), 0, 'cpu1 iowait');
    approx(find(second, 'system.cpu.idle', { cpu: '1' }), 80, 'cpu1 idle');
    // cpu2 came online between the snapshots: no baseline, no samples.
    assert.equal(find(second, 'system.cpu.usage', { cpu: '2' }), undefined);
  });

  it('reads memory, swap, load and uptime', () => {
    approx(find(second, 'system.memory.total_bytes'), 16_000_000 * 1024, 'total');
    approx(find(second, 'system.memory.used_bytes'), 6_000_000 * 1024, 'used');
    approx(find(second, 'system.memory.available_bytes'), 10_000_000 * 1024, 'available');
    approx(find(second, 'system.memory.cached_bytes'), 6_400_000 * 1024, 'cached');
    approx(find(second, 'system.memory.used_percent'), 37.5, 'used percent');
    approx(find(second, 'system.swap.used_bytes'), 1_000_000 * 1024, 'swap used');
    approx(find(second, 'system.swap.used_percent'), 25, 'swap percent');
    approx(find(second, 'system.load.1m'), 0.52, 'load 1m');
    approx(find(second, 'system.load.15m'), 0.59, 'load 15m');
    approx(find(second, 'system.uptime_s'), 12347.67, 'uptime');
  });

  it('reports disk usage for real filesystems only, once per device', () => {
    const mounts = second.filter((s) => s.name === 'system.disk.used_bytes').map((s) => s.labels.mount);
    assert.deepEqual(mounts.sort(), ['/', '/boot/efi', '/home', '/mnt/my data']);
    approx(find(second, 'system.disk.used_bytes', { mount: '/' }), 15_000_000 * 4096, 'used /');
    approx(find(second, 'system.disk.total_bytes', { mount: '/' }), 25_000_000 * 4096, 'total /');
    approx(find(second, 'system.disk.free_bytes', { mount: '/' }), 9_000_000 * 4096, 'free /');
    approx(find(second, 'system.disk.used_percent', { mount: '/' }), 62.5, 'used% /');
    assert.deepEqual(second.find((s) => s.name === 'system.disk.used_bytes' && s.labels.mount === '/')?.labels, {
      mount: '/',
      device: '/dev/nvme0n1p2',
      fstype: 'ext4',
    });
    assert.ok((find(second, 'system.disk.total_bytes', { mount: '/home' }) ?? 0) > 100 * GiB);
  });

  it('computes disk I/O rates for whole, used disks', () => {
    const devices = [
      ...new Set(second.filter((s) => s.name.startsWith('system.disk.read')).map((s) => s.labels.device)),
    ];
    // sda's counters went backwards (reset): skipped for this interval.
    assert.deepEqual(devices.sort(), ['dm-0', 'nvme0n1']);
    approx(find(second, 'system.disk.read_bytes_per_s', { device: 'nvme0n1' }), 1_048_576, 'read B/s');
    approx(find(second, 'system.disk.write_bytes_per_s', { device: 'nvme0n1' }), 2_097_152, 'write B/s');
    approx(find(second, 'system.disk.reads_per_s', { device: 'nvme0n1' }), 100, 'reads/s');
    approx(find(second, 'system.disk.writes_per_s', { device: 'nvme0n1' }), 50, 'writes/s');
    approx(find(second, 'system.disk.io_util_percent', { device: 'nvme0n1' }), 25, 'util');
    approx(find(second, 'system.disk.read_bytes_per_s', { device: 'dm-0' }), 0, 'dm-0 idle');
  });

  it('computes network rates per interface', () => {
    const ifaces = [...new Set(second.filter((s) => s.name.startsWith('system.net.')).map((s) => s.labels.interface))];
    assert.deepEqual(ifaces.sort(), ['eth0', 'lo', 'wlan0']);
    approx(find(second, 'system.net.rx_bytes_per_s', { interface: 'eth0' }), 250_000, 'rx B/s');
    approx(find(second, 'system.net.tx_bytes_per_s', { interface: 'eth0' }), 125_000, 'tx B/s');
    approx(find(second, 'system.net.rx_packets_per_s', { interface: 'eth0' }), 200, 'rx pkt/s');
    approx(find(second, 'system.net.tx_packets_per_s', { interface: 'eth0' }), 100, 'tx pkt/s');
    approx(find(second, 'system.net.rx_errors_per_s', { interface: 'eth0' }), 1, 'rx err/s');
    approx(find(second, 'system.net.rx_drops_per_s', { interface: 'eth0' }), 0, 'rx drop/s');
    approx(find(second, 'system.net.rx_bytes_per_s', { interface: 'wlan0' }), 1000, 'wlan0 rx B/s');
  });

  it('stamps every sample with now and valid names and labels', () => {
    for (const s of second) {
      assert.equal(s.ts, 3000);
      assert.equal(checkMetricName(s.name), undefined, s.name);
      for (const k of Object.keys(s.labels)) assert.equal(checkLabelName(k), undefined, k);
      assert.ok(Number.isFinite(s.value), `${s.name} = ${s.value}`);
    }
  });
});

describe('collector parsing helpers', () => {
  it('recognises partitions by the kernel naming rule', () => {
    const names = new Set([
      'sda',
      'sda1',
      'sdaa',
      'nvme0n1',
      'nvme0n1p1',
      'nvme0n10',
      'mmcblk0',
      'mmcblk0p2',
      'md0',
      'dm-1',
    ]);
    assert.equal(isPartition('sda1', names), true);
    assert.equal(isPartition('sdaa', names), false);
    assert.equal(isPartition('nvme0n1p1', names), true);
    assert.equal(isPartition('nvme0n10', names), false);
    assert.equal(isPartition('mmcblk0p2', names), true);
    assert.equal(isPartition('md0', names), false);
    assert.equal(isPartition('dm-1', names), false);
    assert.equal(isPartition('sdb1', names), false);
  });

  it('unescapes mount fields and filters mounts', () => {
    assert.equal(unescapeMountField('/mnt/a\\040b\\011c\\134d'), '/mnt/a b\tc\\d');
    assert.equal(unescapeMountField('/x\\04'), '/x\\04');
    const types = parseRealFsTypes(undefined);
    assert.ok(types.has('ext4') && types.has('zfs') && !types.has('squashfs'));
    const mounts = parseMounts('overlay / overlay rw 0 0\n/dev/sda1 /etc/hosts ext4 rw 0 0\n', types);
    assert.deepEqual(mounts, [
      { device: 'overlay', mount: '/', fstype: 'overlay' },
      { device: '/dev/sda1', mount: '/etc/hosts', fstype: 'ext4' },
    ]);
  });

  it('parses /proc/net/dev lines whose counters touch the colon', () => {
    const rows = parseNetDev('h\nh\n  eth9:4294967296 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n');
    assert.equal(rows.get('eth9')?.[0], 4294967296);
    assert.equal(rows.get('eth9')?.[8], 7);
  });

  it('yields nothing and throws nothing without a procfs', () => {
    const c = new SystemCollector({ procRoot: join(tmpdir(), 'vigil-no-such-proc'), includeProcess: false });
    assert.deepEqual(c.collect(1), []);
    assert.deepEqual(c.collect(2), []);
    assert.deepEqual(c.lastErrors, []);
  });
});

describe('SystemCollector on the real /proc', { skip: !existsSync('/proc/stat') }, () => {
  it('produces sane values', async () => {
    const collector = new SystemCollector();
    try {
      const t0 = Date.now();
      collector.collect(t0);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const samples = collector.collect(Date.now());
      assert.deepEqual(collector.lastErrors, []);
      const cpu = samples.filter((s) => s.name.startsWith('system.cpu.'));
      assert.ok(
        cpu.some((s) => s.labels.cpu === 'total'),
        'total cpu present',
      );
      assert.ok(
        cpu.some((s) => s.labels.cpu === '0'),
        'cpu 0 present',
      );
      for (const s of cpu) assert.ok(s.value >= 0 && s.value <= 100, `${s.name}{cpu=${s.labels.cpu}} = ${s.value}`);
      const used = find(samples, 'system.memory.used_bytes');
      const total = find(samples, 'system.memory.total_bytes');
      assert.ok(used !== undefined && total !== undefined && used > 0 && used <= total);
      assert.ok((find(samples, 'system.load.1m') ?? -1) >= 0);
      assert.ok((find(samples, 'process.memory.rss_bytes') ?? 0) > 0);
      assert.ok((find(samples, 'process.heap.used_bytes') ?? 0) > 0);
      assert.ok((find(samples, 'process.cpu.percent') ?? -1) >= 0);
      assert.ok((find(samples, 'process.eventloop.lag_ms') ?? -1) >= 0);
      for (const s of samples) {
        assert.equal(checkMetricName(s.name), undefined, s.name);
        assert.ok(Number.isFinite(s.value), `${s.name} = ${s.value}`);
        if (s.name.endsWith('_percent') && s.name !== 'process.cpu.percent') {
          assert.ok(s.value >= 0 && s.value <= 100, `${s.name} = ${s.value}`);
        }
        if (s.name.endsWith('_bytes') || s.name.endsWith('_per_s')) assert.ok(s.value >= 0, `${s.name} = ${s.value}`);
      }
    } finally {
      collector.close();
    }
  });
});
