/**
 * @module bench/ingest/peer-process
 * Runs the plain-SQLite peer (`sqlite-peer.ts`) as a child process with the same `node` and loader as the rest of
 * the bench, passes its options as one JSON argument, and reads its result from the last line of its stdout.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { LatencySummary } from '../fanout/stats.js';

export interface PeerOptions {
  dbPath: string;
  series: number;
  seconds: number;
  baseTs: number;
  jitterMs: number;
  /** Rows per transaction. */
  batch: number;
  synchronous: 'full' | 'normal';
  queryBaseTs: number;
  querySteps: number[];
  queries: number;
  warmup: number;
}

export interface PeerResult {
  rows: number;
  insertMs: number;
  rowsPerSec: number;
  /** CPU of the peer process during the inserts, % of one core. */
  cpuPct: number;
  fileBytes: number;
  walBytes: number;
  bytesPerSample: number;
  objects: { name: string; bytes: number }[];
  queries: { stepMs: number; points: number; latency: LatencySummary }[];
}

export function runSqlitePeer(root: string, o: PeerOptions, timeoutMs = 180_000): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bench/ingest/sqlite-peer.ts'), JSON.stringify(o)],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`sqlite peer exited with ${signal ?? code}: ${stderr.trim().slice(-1000)}`));
        return;
      }
      resolve(JSON.parse(last) as PeerResult);
    });
  });
}
