/**
 * @module bench/ingest/victoria
 * VictoriaMetrics as the ingest and disk peer: the single-node binary from Debian's `victoria-metrics` package, run as
 * a child process (`-httpListenAddr 127.0.0.1:<port> -storageDataPath <dir> -retentionPeriod 100y`), fed InfluxDB
 * line protocol at `POST /write?precision=ms`. Also the directory measurement both targets share.
 *
 * Steady state: VictoriaMetrics buffers new rows in memory (in-memory parts, which its `vm_rows` already counts) and
 * writes them to disk as parts some seconds later (about 8 s after the last write here), then merges parts in the
 * background; `GET /internal/force_flush` asks it to write what it buffers. `settleVictoria` repeats that until its
 * own metrics say nothing is pending or merging, parts exist on disk, and the data directory has kept the same size
 * for 15 s.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ServerProcess } from '../fanout/server-process.js';

export const VICTORIA_BIN = 'victoria-metrics';

/** The path of the VictoriaMetrics binary, or undefined when it is not installed. */
export function findVictoria(): string | undefined {
  const res = spawnSync('sh', ['-c', `command -v ${VICTORIA_BIN}`], { encoding: 'utf8' });
  const path = res.stdout?.trim();
  return res.status === 0 && path ? path : undefined;
}

/** The version line VictoriaMetrics prints, for the report. */
export function victoriaVersion(bin: string): string {
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const line = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n')[0];
  if (line) return line;
  // Debian's build prints nothing: ask the package manager.
  const pkg = spawnSync('dpkg-query', ['-W', '-f=$' + '{Version}', 'victoria-metrics'], { encoding: 'utf8' });
  return pkg.status === 0 && pkg.stdout ? `victoria-metrics ${pkg.stdout.trim()} (Debian)` : 'victoria-metrics';
}

export interface RunningVictoria {
  server: ServerProcess;
  port: number;
  dataDir: string;
}

export async function startVictoria(
  bin: string,
  dataDir: string,
  logDir: string,
  name: string,
): Promise<RunningVictoria> {
  const port = await freePort();
  const args = [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    '-retentionPeriod=100y',
    '-loggerLevel=WARN',
  ];
  const server = await ServerProcess.start(
    { command: bin, args, cwd: logDir, logDir, name, port, nodeFlags: [] },
    30_000,
  );
  return { server, port, dataDir };
}

/** GET as text; a status other than 200 rejects. */
export function getText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${path}: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
  });
}

/** Sums the values of every sample of `name` in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface DirSize {
  /** Sum of the files' lengths. */
  bytes: number;
  /** Blocks the files occupy on the file system (`du`), bytes. */
  allocated: number;
  files: number;
}

/** Size of a directory tree: every regular file, recursively. */
export function dirSize(dir: string): DirSize {
  const out: DirSize = { bytes: 0, allocated: 0, files: 0 };
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = dirSize(path);
      out.bytes += sub.bytes;
      out.allocated += sub.allocated;
      out.files += sub.files;
    } else if (e.isFile()) {
      try {
        const st = statSync(path);
        out.bytes += st.size;
        out.allocated += st.blocks * 512;
        out.files++;
      } catch {
        // removed while we looked (a merge replaced it)
      }
    }
  }
  return out;
}

export interface SettleResult {
  size: DirSize;
  /** Time from the last reply until the size was taken, ms. */
  waitedMs: number;
  /** False when the limit was reached before the store settled. */
  settled: boolean;
}

/**
 * Waits until VictoriaMetrics has written and merged everything: no pending rows, no active merge, all `expected`
 * rows counted, parts on disk, and the directory size unchanged over `stableMs`; at most `maxMs`.
 */
export async function settleVictoria(vm: RunningVictoria, expected: number, stableMs = 15_000, maxMs = 180_000) {
  const t0 = performance.now();
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    await getText(vm.port, '/internal/force_flush').catch(() => '');
    const text = await getText(vm.port, '/metrics');
    const pending = metricSum(text, 'vm_pending_rows');
    const merging = metricSum(text, 'vm_active_merges');
    const rows = metricSum(text, 'vm_rows{type="storage/small"}') + metricSum(text, 'vm_rows{type="storage/big"}');
    const parts = metricSum(text, 'vm_parts{type="storage/small"}') + metricSum(text, 'vm_parts{type="storage/big"}');
    const size = dirSize(vm.dataDir);
    const now = performance.now();
    if (size.bytes !== last || pending > 0 || merging > 0 || rows < expected || parts === 0) {
      last = size.bytes;
      stableSince = now;
    }
    if (now - stableSince >= stableMs) return { size, waitedMs: Math.round(now - t0), settled: true };
    if (now - t0 >= maxMs) return { size, waitedMs: Math.round(now - t0), settled: false };
    await sleep(500);
  }
}
