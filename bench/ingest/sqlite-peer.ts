/**
 * @module bench/ingest/sqlite-peer
 * The peer of the ingest bench, run as its own process by `peer-process.ts`: the same samples as the storage phase
 * (and the same 24 h query series) stored as plain SQLite rows with better-sqlite3: WAL, `samples(series INTEGER,
 * ts INTEGER, value REAL)` with an index on `(series, ts)`, inserted with one prepared statement in transactions of
 * `batch` rows. Samples are generated before the clock starts. Prints one JSON line: rows/s, bytes per sample
 * after a truncating WAL checkpoint, and the latency of `SELECT (ts/step)*step, avg(value) ... GROUP BY` per step.
 *
 *   node --import tsx bench/ingest/sqlite-peer.ts '<PeerOptions JSON>'
 */
import { rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { summarize } from '../fanout/stats.js';
import { sampleTs, seriesDefs } from './dataset.js';
import type { PeerOptions, PeerResult } from './peer-process.js';
import { QUERY_SECONDS, querySeries } from './query.js';

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function main(): void {
  const o = JSON.parse(process.argv[2] ?? '{}') as PeerOptions;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${o.dbPath}${suffix}`, { force: true });

  // The storage dataset in time order: second-major, like the hub receives it.
  const rows = o.series * o.seconds;
  const series = new Uint32Array(rows);
  const ts = new Float64Array(rows);
  const values = new Float64Array(rows);
  const defs = seriesDefs(o.series);
  for (let sec = 0, k = 0; sec < o.seconds; sec++) {
    for (const d of defs) {
      series[k] = d.index;
      ts[k] = sampleTs(o.baseTs, sec, d.index, o.jitterMs);
      values[k++] = d.next();
    }
  }

  const db = new Database(o.dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${o.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('CREATE TABLE samples (series INTEGER, ts INTEGER, value REAL)');
  db.exec('CREATE INDEX samples_series_ts ON samples (series, ts)');
  const insert = db.prepare<[number, number, number]>('INSERT INTO samples (series, ts, value) VALUES (?, ?, ?)');
  const insertRange = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(series[i]!, ts[i]!, values[i]!);
  });

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < rows; i += o.batch) insertRange(i, Math.min(rows, i + o.batch));
  const insertMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);

  db.pragma('wal_checkpoint(TRUNCATE)');
  const fileBytes = size(o.dbPath);
  const walBytes = size(`${o.dbPath}-wal`);
  const objects = db
    .prepare<[], { name: string; bytes: number }>(
      'SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC',
    )
    .all();

  // The 24 h query series, as one more series id.
  const q = querySeries();
  const qid = o.series;
  const insertQuery = db.transaction((from: number, to: number) => {
    for (let sec = from; sec < to; sec++) insert.run(qid, sampleTs(o.queryBaseTs, sec, q.index, 0), q.next());
  });
  for (let sec = 0; sec < QUERY_SECONDS; sec += o.batch) insertQuery(sec, Math.min(QUERY_SECONDS, sec + o.batch));
  db.pragma('wal_checkpoint(TRUNCATE)');

  const from = o.queryBaseTs;
  const to = o.queryBaseTs + QUERY_SECONDS * 1000 - 1;
  const queries: PeerResult['queries'] = [];
  for (const step of o.querySteps) {
    // The step is a literal so the division is integer division on the INTEGER column.
    const stmt = db.prepare<[number, number, number], { b: number; v: number }>(
      `SELECT (ts / ${Math.trunc(step)}) * ${Math.trunc(step)} AS b, avg(value) AS v FROM samples ` +
        'WHERE series = ? AND ts >= ? AND ts <= ? GROUP BY b ORDER BY b',
    );
    const times: number[] = [];
    let points = 0;
    for (let i = 0; i < o.warmup + o.queries; i++) {
      const s = performance.now();
      const result = stmt.all(qid, from, to);
      const ms = performance.now() - s;
      points = result.length;
      if (i >= o.warmup) times.push(ms);
    }
    queries.push({ stepMs: step, points, latency: summarize(times) });
  }
  db.close();

  const result: PeerResult = {
    rows,
    insertMs: Math.round(insertMs),
    rowsPerSec: Math.round(rows / (insertMs / 1000)),
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / insertMs) * 100),
    fileBytes,
    walBytes,
    bytesPerSample: Math.round(((fileBytes + walBytes) / rows) * 1000) / 1000,
    objects,
    queries,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
