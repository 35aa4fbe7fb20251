/**
 * @module metrics/ingest/influx-parallel
 * Line protocol on two threads. A large body is cut at a line boundary: the main thread parses (and the pipeline
 * takes) its first part while a parse thread (influx-worker) parses the rest, which the pipeline takes next. The cut
 * follows what each thread's work has cost per byte lately, so that both finish together (`mainShare`): one writer's
 * request uses both cores.
 *
 * The parse thread answers with columns whose samples name their series by number (see influx-worker); this side
 * keeps the slots by number. If the thread fails or exits, every request waiting on it is refused with an error, on
 * which the caller parses that part itself, and later bodies are parsed on the main thread alone.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { InfluxColumnsResult, InfluxPrecision } from './influx-line.js';
import type { ParseReply, ParseRequest, WorkerOptions } from './influx-worker.js';
import { type SeriesSlot, seriesSlot } from './ingest-result.js';

/** Bodies below this size are parsed on the main thread alone: a message costs more than it saves. */
export const PARALLEL_MIN_BYTES = 64 * 1024;

/** Slot numbers the parse thread gives out before starting again (its table and this side's hold that many). */
const MAX_SLOTS = 400_000;

/**
 * Where to cut `body` so that the main thread gets about `share` of it: just after the first newline at or past that
 * point, or the body's length when there is none.
 */
export function cutPoint(body: Uint8Array, share: number): number {
  const at = Math.floor(body.length * share);
  const nl = body.indexOf(10, at);
  return nl === -1 ? body.length : nl + 1;
}

export interface ParseThreadOptions {
  /** Slot numbers given out before the thread starts again from a new base (default 400,000). */
  maxSlots?: number;
  /** Told once when the thread fails (it is not restarted). */
  onFailure?: (error: Error) => void;
  /** The thread's module; default influx-worker beside this file. */
  workerUrl?: URL;
}

interface Waiting {
  bytes: number;
  resolve: (result: InfluxColumnsResult) => void;
  reject: (error: Error) => void;
}

/** Weight of the newest measure in the running costs per byte. */
const SMOOTHING = 0.2;

/** A running average of a cost per byte, for `mainShare`. */
export class CostPerByte {
  value = 0;

  add(ms: number, bytes: number): void {
    if (!(bytes > 0) || !(ms >= 0)) return;
    const x = ms / bytes;
    this.value = this.value === 0 ? x : this.value + SMOOTHING * (x - this.value);
  }
}

/**
 * The share of a body the main thread should take so that both threads finish together: it parses and takes its part
 * at `main` per byte while the parse thread reads the rest at `thread` per byte. A third until both are measured,
 * and between a tenth and nine tenths.
 */
export function mainShare(main: CostPerByte, thread: CostPerByte): number {
  if (main.value === 0 || thread.value === 0) return 1 / 3;
  return Math.min(0.9, Math.max(0.1, thread.value / (main.value + thread.value)));
}

/** The main thread's side of the parse thread, started on first use. */
export class InfluxParseThread {
  private worker: Worker | undefined;
  private failed = false;
  private closed = false;
  private nextRequest = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Body parts the thread has parsed. */
  parsed = 0;
  /** What parsing costs the thread per byte, measured there. */
  readonly cost = new CostPerByte();
  /** Slots by number from `base` (see influx-worker). */
  private slots: SeriesSlot[] = [];
  private base = 0;

  /** Whether the machine has a core for the thread at all. */
  private readonly useful = os.availableParallelism() >= 2;
  private readonly maxSlots: number;
  private readonly onFailure: (error: Error) => void;
  private readonly workerUrl: URL | undefined;

  constructor(options: ParseThreadOptions = {}) {
    this.maxSlots = options.maxSlots ?? MAX_SLOTS;
    this.onFailure = options.onFailure ?? (() => {});
    this.workerUrl = options.workerUrl;
  }

  /** Whether bodies can be sent: the machine has two cores or more, the thread has not failed, nor been closed. */
  get available(): boolean {
    return this.useful && !this.failed && !this.closed;
  }

  /** Parses `body` (copied: the caller keeps its bytes) on the parse thread. */
  parse(body: Uint8Array, now: number, precision: InfluxPrecision): Promise<InfluxColumnsResult> {
    if (!this.available) return Promise.reject(new Error('the line protocol parse thread is not running'));
    const worker = this.start();
    const copy = new Uint8Array(body.byteLength);
    copy.set(body);
    const id = this.nextRequest++;
    return new Promise<InfluxColumnsResult>((resolve, reject) => {
      this.waiting.set(id, { bytes: copy.byteLength, resolve, reject });
      const request: ParseRequest = { id, body: copy, now, precision };
      worker.postMessage(request, [copy.buffer]);
    });
  }

  /** Stops the thread; requests still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.refuseAll(new Error('the line protocol parse thread was stopped'));
    if (worker !== undefined) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const options: WorkerOptions = { maxSlots: this.maxSlots };
    // Built, the thread is influx-worker.js beside this file; run from the sources (tests), it is the .ts file,
    // loaded through tsx's API.
    const url =
      this.workerUrl ?? new URL(`./influx-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true, workerData: options },
        )
      : new Worker(url, { workerData: options });
    worker.unref();
    worker.on('message', (reply: ParseReply) => this.answer(reply));
    worker.on('error', (err: Error) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the line protocol parse thread exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private answer(reply: ParseReply): void {
    const waiting = this.waiting.get(reply.id);
    if (waiting === undefined) return;
    this.waiting.delete(reply.id);
    if ('error' in reply) {
      waiting.reject(new Error(reply.error));
      return;
    }
    if (reply.base !== this.base) {
      this.base = reply.base;
      this.slots = [];
    }
    const base = this.base;
    for (const s of reply.slots) this.slots[s.id - base] = seriesSlot(s.name, Object.freeze(s.labels));
    const n = reply.length;
    const slots: SeriesSlot[] = new Array(n);
    const table = this.slots;
    const ids = reply.ids;
    for (let i = 0; i < n; i++) slots[i] = table[ids[i]! - base]!;
    this.parsed++;
    this.cost.add(reply.ms, waiting.bytes);
    waiting.resolve({
      columns: { length: n, slots, ts: reply.ts, values: reply.values },
      errors: reply.errors,
      lines: reply.lines,
      skippedStringFields: reply.skippedStringFields,
    });
  }

  private fail(error: Error): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.worker = undefined;
    this.refuseAll(error);
    this.onFailure(error);
  }

  private refuseAll(error: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(error);
  }
}
