/**
 * @module storage/series-state
 * The SQLite store's in-memory view of its series: ids by name and canonical labels, series not yet written, and per
 * series the open chunk, the newest accepted timestamp and the last rollup bucket written per tier. It also holds the
 * append checks, which run here without any SQL.
 */
import type { RollupPoint, RollupTier, SampleBatch, SeriesInfo } from './metric-store.js';
import { OpenSeries } from './open-series.js';
import type { PendingSamples } from './pending-batch.js';

export interface SeriesEntry {
  readonly id: number;
  readonly open: OpenSeries;
  /** Newest timestamp accepted by `append` (queued or durable). */
  lastTs: number;
  /** `lastTs` before the batch being checked, valid while `mark` equals that batch's mark. */
  savedTs: number;
  mark: number;
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
  private nextId = 1;
  private unsaved: SeriesRow[] = [];
  private mark = 0;
  /** Durable samples held in open chunks, over all series. */
  openSamples = 0;

  get(id: number): SeriesEntry | undefined {
    return this.entries[id];
  }

  /** Registers a series read from the database. */
  load(row: SeriesRow, lastTs: number): void {
    this.add(row);
    this.entries[row.id]!.lastTs = lastTs;
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
   * advances each series' `lastTs`. On a bad sample it restores them and returns the error: a batch is all or none.
   */
  accept(batch: SampleBatch): RangeError | undefined {
    const mark = ++this.mark;
    const touched: SeriesEntry[] = [];
    const { series, ts } = batch;
    let error: RangeError | undefined;
    for (let i = 0; i < batch.length; i++) {
      const entry = this.entries[series[i]];
      const t = ts[i];
      if (entry === undefined) {
        error = new RangeError(`metric store: sample ${i} names unknown series ${series[i]}`);
      } else if (!Number.isSafeInteger(t) || t < 0) {
        error = new RangeError(`metric store: sample ${i} has ts ${t}, not an integer ms >= 0`);
      } else if (t < entry.lastTs) {
        error = new RangeError(
          `metric store: sample ${i} of series ${entry.id} is out of order (${t} < ${entry.lastTs})`,
        );
      } else {
        if (entry.mark !== mark) {
          entry.mark = mark;
          entry.savedTs = entry.lastTs;
          touched.push(entry);
        }
        entry.lastTs = t;
        continue;
      }
      break;
    }
    if (error !== undefined) for (const entry of touched) entry.lastTs = entry.savedTs;
    return error;
  }

  /**
   * Moves durable samples into their series' open chunks. Throws if one names an unknown series, having moved the
   * samples before it (appended samples were checked by `accept`; only a replay at open can fail, and fails the open).
   */
  feed(samples: PendingSamples): void {
    const { series, ts, count } = samples;
    const words = new Uint32Array(samples.values.buffer, samples.values.byteOffset, count * 2);
    for (let i = 0; i < count; i++) {
      const entry = this.entries[series[i]];
      if (entry === undefined) {
        this.openSamples += i;
        throw new Error(`metric store: unknown series ${series[i]}`);
      }
      entry.open.push(ts[i], words, i);
      if (ts[i] > entry.lastTs) entry.lastTs = ts[i];
    }
    this.openSamples += count;
  }

  /** Entries whose open chunk holds samples. */
  withOpenSamples(): SeriesEntry[] {
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

  private add(row: SeriesRow): void {
    this.list.push({ id: row.id, name: row.name, labels: JSON.parse(row.labels) as Record<string, string> });
    this.byKey.set(`${row.name}\u0000${row.labels}`, row.id);
    this.entries[row.id] = {
      id: row.id,
      open: new OpenSeries(),
      lastTs: Number.NEGATIVE_INFINITY,
      savedTs: 0,
      mark: 0,
      tails: { '1m': undefined, '1h': undefined },
      chunk: undefined,
    };
    if (row.id >= this.nextId) this.nextId = row.id + 1;
  }
}
