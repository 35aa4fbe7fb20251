/**
 * @module storage/series-state
 * The store's in-memory view of its series (both engines): ids by name and canonical labels, series not yet written,
 * and per series the open chunk, the newest accepted timestamp and the last rollup bucket written per tier. It also
 * holds the append checks, which run here without any SQL.
 *
 * Committed samples are kept as the columns they were committed in (a log) and moved into their series' open chunks
 * only when something reads or seals them (`get`, `withOpenSamples`), grouped by series first: a commit then costs a
 * pass over its series ids, not a visit to each sample's series, whose state a batch of many series would otherwise
 * fetch from memory one sample at a time.
 */
import type { RollupPoint, RollupTier, SampleBatch, SeriesInfo } from './metric-store.js';
import { OpenSeries } from './open-series.js';
import type { PendingSamples } from './pending-batch.js';

export interface SeriesEntry {
  readonly id: number;
  readonly open: OpenSeries;
  /** The last bucket written per tier, which the next samples may continue; undefined means "look it up". */
  tails: Record<RollupTier, RollupPoint | undefined>;
  /** The series' newest sealed chunk, which the next checkpoint may merge into; null: none; undefined: look it up. */
  chunk: ChunkInfo | null | undefined;
}

export interface ChunkInfo {
  id: number;
  startTs: number;
  endTs: number;
  count: number;
}

export interface SeriesRow {
  id: number;
  name: string;
  /** Canonical JSON: keys sorted. */
  labels: string;
}

/** Canonical JSON of a label set: keys sorted, so equal sets give equal strings. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) sorted[k] = labels[k];
  return JSON.stringify(sorted);
}

export class SeriesState {
  /** Every series, in id order for those loaded at open. */
  readonly list: SeriesInfo[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly entries: (SeriesEntry | undefined)[] = [];
  /** Per series id: the newest timestamp accepted by `append` (queued or durable). */
  private last = new Float64Array(0);
  /** Per series id: `last` before the batch being checked, valid while `marks` holds that batch's mark. */
  private saved = new Float64Array(0);
  private marks = new Uint32Array(0);
  /** Per series id: scratch of `materialize`, all zero between calls. */
  private counts = new Uint32Array(0);
  private nextId = 1;
  private unsaved: SeriesRow[] = [];
  private mark = 0;
  /** Durable samples not yet moved into their series' open chunks, in commit order. */
  private log: PendingSamples[] = [];
  private logged = 0;
  /** Durable samples held in open chunks or in the log, over all series. */
  openSamples = 0;

  /** The entry of series `id`, its open chunk holding every durable sample. */
  get(id: number): SeriesEntry | undefined {
    if (this.log.length > 0) this.materialize();
    return this.entries[id];
  }

  has(id: number): boolean {
    return this.entries[id] !== undefined;
  }

  /** Newest timestamp accepted for series `id` (-Infinity when none or unknown). */
  lastTs(id: number): number {
    return id < this.last.length ? this.last[id] : Number.NEGATIVE_INFINITY;
  }

  /** Registers a series read from the database. */
  load(row: SeriesRow, lastTs: number): void {
    this.add(row);
    this.last[row.id] = lastTs;
  }

  /** The id of a known series, by name and canonical labels (see canonicalLabels). */
  find(name: string, canonical: string): number | undefined {
    return this.byKey.get(`${name}\u0000${canonical}`);
  }

  /** The id of a series, registering it (to be written with the next commit) if it is new. */
  resolve(name: string, labels: Readonly<Record<string, string>>): number {
    const json = canonicalLabels(labels);
    const known = this.byKey.get(`${name}\u0000${json}`);
    if (known !== undefined) return known;
    const row = { id: this.nextId, name, labels: json };
    this.add(row);
    this.unsaved.push(row);
    return row.id;
  }

  get hasUnsaved(): boolean {
    return this.unsaved.length > 0;
  }

  takeUnsaved(): SeriesRow[] {
    const rows = this.unsaved;
    this.unsaved = [];
    return rows;
  }

  /** Puts rows back after a failed commit, to be written with the next one. */
  restoreUnsaved(rows: SeriesRow[]): void {
    this.unsaved = rows.concat(this.unsaved);
  }

  /**
   * Checks series ids and timestamps (integer ms >= 0, never decreasing per series, also against queued samples) and
   * advances each series' newest timestamp. On a bad sample it restores them and returns the error: a batch is all or
   * none.
   */
  accept(batch: SampleBatch): RangeError | undefined {
    this.mark = (this.mark + 1) >>> 0 || 1;
    const mark = this.mark;
    const { series, ts } = batch;
    const { entries, last, saved, marks } = this;
    let error: RangeError | undefined;
    let i = 0;
    for (; i < batch.length; i++) {
      const id = series[i];
      const t = ts[i];
      if (entries[id] === undefined) {
        error = new RangeError(`metric store: sample ${i} names unknown series ${id}`);
      } else if (!Number.isSafeInteger(t) || t < 0) {
        error = new RangeError(`metric store: sample ${i} has ts ${t}, not an integer ms >= 0`);
      } else if (t < last[id]) {
        error = new RangeError(`metric store: sample ${i} of series ${id} is out of order (${t} < ${last[id]})`);
      } else {
        if (marks[id] !== mark) {
          marks[id] = mark;
          saved[id] = last[id];
        }
        last[id] = t;
        continue;
      }
      break;
    }
    if (error !== undefined) {
      for (let j = 0; j < i; j++) {
        const id = series[j];
        if (marks[id] === mark) {
          last[id] = saved[id];
          marks[id] = 0;
        }
      }
    }
    return error;
  }

  /**
   * Takes durable samples (which it now owns) for their series' open chunks. Throws if one names an unknown series,
   * taking none (appended samples were checked by `accept`; only a replay at open can fail, and fails the open).
   */
  feed(samples: PendingSamples): void {
    const { series, ts, count } = samples;
    const { entries, last } = this;
    for (let i = 0; i < count; i++) {
      if (entries[series[i]] === undefined) throw new Error(`metric store: unknown series ${series[i]}`);
    }
    for (let i = 0; i < count; i++) {
      const id = series[i];
      if (ts[i] > last[id]) last[id] = ts[i];
    }
    if (count === 0) return;
    this.log.push(samples);
    this.logged += count;
    this.openSamples += count;
  }

  /** Entries whose open chunk holds samples. */
  withOpenSamples(): SeriesEntry[] {
    if (this.log.length > 0) this.materialize();
    const out: SeriesEntry[] = [];
    for (const s of this.list) {
      const entry = this.entries[s.id]!;
      if (entry.open.count > 0) out.push(entry);
    }
    return out;
  }

  forgetTails(): void {
    for (const s of this.list) {
      const entry = this.entries[s.id]!;
      entry.tails = { '1m': undefined, '1h': undefined };
      entry.chunk = undefined;
    }
  }

  /**
   * Moves the log into the open chunks: sorts its samples by series (a counting sort, stable, so each series keeps
   * its time order), then appends each series' run to its open chunk at once. Values move as IEEE-754 words, so NaN
   * payloads survive bit for bit.
   */
  private materialize(): void {
    const parts = this.log;
    const total = this.logged;
    this.log = [];
    this.logged = 0;
    const { counts, entries } = this;
    const order: number[] = [];
    for (const part of parts) {
      const ids = part.series;
      for (let i = 0; i < part.count; i++) if (counts[ids[i]]++ === 0) order.push(ids[i]);
    }
    // counts[id] becomes the start of the series' run, then (after the scatter) its end.
    let at = 0;
    for (const id of order) {
      const n = counts[id];
      counts[id] = at;
      at += n;
    }
    const ts = new Float64Array(total);
    const words = new Uint32Array(total * 2);
    for (const part of parts) {
      const ids = part.series;
      const pts = part.ts;
      const pw = new Uint32Array(part.values.buffer, part.values.byteOffset, part.count * 2);
      for (let i = 0; i < part.count; i++) {
        const k = counts[ids[i]]++;
        ts[k] = pts[i];
        words[2 * k] = pw[2 * i];
        words[2 * k + 1] = pw[2 * i + 1];
      }
    }
    let start = 0;
    for (const id of order) {
      const end = counts[id];
      entries[id]!.open.append(ts, words, start, end);
      counts[id] = 0;
      start = end;
    }
  }

  private add(row: SeriesRow): void {
    this.list.push({ id: row.id, name: row.name, labels: JSON.parse(row.labels) as Record<string, string> });
    this.byKey.set(`${row.name}\u0000${row.labels}`, row.id);
    this.entries[row.id] = {
      id: row.id,
      open: new OpenSeries(),
      tails: { '1m': undefined, '1h': undefined },
      chunk: undefined,
    };
    if (row.id >= this.last.length) this.grow(row.id + 1);
    this.last[row.id] = Number.NEGATIVE_INFINITY;
    if (row.id >= this.nextId) this.nextId = row.id + 1;
  }

  /** Makes room in the per-id arrays for ids below `size`. */
  private grow(size: number): void {
    const cap = Math.max(size, this.last.length * 2, 1024);
    const last = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
    last.set(this.last);
    const saved = new Float64Array(cap);
    saved.set(this.saved);
    const marks = new Uint32Array(cap);
    marks.set(this.marks);
    const counts = new Uint32Array(cap);
    counts.set(this.counts);
    this.last = last;
    this.saved = saved;
    this.marks = marks;
    this.counts = counts;
  }
}
