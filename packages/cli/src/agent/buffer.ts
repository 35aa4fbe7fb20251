/**
 * @module agent/buffer
 * The agent's sample buffer: batches wait here, oldest first, until the hub has taken them.
 *
 * - A few batches are held in memory (`memoryBatches`) while the hub keeps up; past that, and whenever older
 *   batches already wait on disk, a batch goes to disk, so the order is always disk (oldest) then memory.
 * - On disk, batches are lines of JSON in segment files (`<dir>/<sequence>.seg`), appended and rolled at
 *   `segmentBytes`. A segment is read whole when it reaches the head and deleted once every batch in it was taken.
 * - Bounds: the segments together hold at most `maxBytes` (the oldest segment is dropped to make room) and a batch
 *   older than `maxAgeMs` is dropped when it reaches the head. Drops are counted.
 * - Segments left by an earlier run are taken up at start, so a restarted agent still back-fills them.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface Batch {
  ts: number;
  samples: { name: string; value: number; labels?: Record<string, string> }[];
}

export interface SampleBufferOptions {
  dir: string;
  /** Most bytes of the segments on disk. */
  maxBytes: number;
  /** Batches older than this (by their `ts`) are dropped. */
  maxAgeMs: number;
  /** Batches held in memory before they go to disk. Default 8. */
  memoryBatches?: number;
  /** Size at which a segment is closed. Default maxBytes / 16, at least 16 KiB. */
  segmentBytes?: number;
  now?: () => number;
}

interface Segment {
  seq: number;
  path: string;
  bytes: number;
}

export class SampleBuffer {
  private readonly memory: Batch[] = [];
  private readonly segments: Segment[] = [];
  /** The head segment's batches not yet taken, once read. */
  private head: Batch[] | undefined;
  private headIndex = 0;
  private nextSeq = 1;
  /** The newest segment is from an earlier run (it may end in a line cut short): never append to it. */
  private tailSealed = false;
  private readonly memoryBatches: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  /** Batches dropped for size or age. */
  dropped = 0;
  /** Batches written to disk so far. */
  spilled = 0;

  constructor(private readonly o: SampleBufferOptions) {
    this.memoryBatches = o.memoryBatches ?? 8;
    this.segmentBytes = o.segmentBytes ?? Math.max(16 * 1024, Math.floor(o.maxBytes / 16));
    this.now = o.now ?? Date.now;
    mkdirSync(o.dir, { recursive: true });
    const found = readdirSync(o.dir)
      .map((name) => /^(\d{1,15})\.seg$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of found) {
      const path = join(o.dir, `${seq}.seg`);
      this.segments.push({ seq, path, bytes: statSync(path).size });
      this.nextSeq = seq + 1;
    }
    this.tailSealed = this.segments.length > 0;
    this.enforceSize();
  }

  /** Batches waiting (those in unread segments counted once read). */
  get size(): number {
    return this.memory.length + (this.head ? this.head.length - this.headIndex : 0);
  }

  /** Bytes of the segments on disk. */
  get diskBytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  get onDisk(): boolean {
    return this.segments.length > 0;
  }

  push(batch: Batch): void {
    if (this.segments.length === 0 && this.memory.length < this.memoryBatches) {
      this.memory.push(batch);
      return;
    }
    for (const b of this.memory.splice(0)) this.write(b);
    this.write(batch);
  }

  /** Moves what is in memory to disk (before the agent stops, say). */
  spill(): void {
    for (const b of this.memory.splice(0)) this.write(b);
  }

  /** The oldest batch not yet taken, or undefined. */
  peek(): Batch | undefined {
    const cutoff = this.now() - this.o.maxAgeMs;
    for (;;) {
      const b = this.peekRaw();
      if (b === undefined || b.ts >= cutoff) return b;
      this.dropped++;
      this.shift();
    }
  }

  /** Removes the batch `peek()` returned. */
  shift(): void {
    if (this.segments.length > 0) {
      this.load();
      this.headIndex++;
      if (this.head && this.headIndex >= this.head.length) this.dropHead();
      return;
    }
    this.memory.shift();
  }

  private peekRaw(): Batch | undefined {
    while (this.segments.length > 0) {
      this.load();
      if (this.head && this.headIndex < this.head.length) return this.head[this.headIndex];
      this.dropHead();
    }
    return this.memory[0];
  }

  private load(): void {
    if (this.head !== undefined || this.segments.length === 0) return;
    const seg = this.segments[0]!;
    // The head segment is read once: what is written later goes to a newer segment (see write).
    const out: Batch[] = [];
    let text = '';
    try {
      text = readFileSync(seg.path, 'utf8');
    } catch {
      // gone: nothing to read
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const b = JSON.parse(line) as Batch;
        if (typeof b?.ts === 'number' && Array.isArray(b.samples)) out.push(b);
      } catch {
        // a line cut short by a crash: skipped
      }
    }
    this.head = out;
    this.headIndex = 0;
  }

  private dropHead(): void {
    const seg = this.segments.shift();
    this.head = undefined;
    this.headIndex = 0;
    if (seg) rmQuiet(seg.path);
  }

  private write(batch: Batch): void {
    const line = `${JSON.stringify(batch)}\n`;
    let tail = this.segments.at(-1);
    const headOpen = tail !== undefined && this.head !== undefined && tail === this.segments[0];
    if (!tail || headOpen || this.tailSealed || tail.bytes >= this.segmentBytes) {
      this.tailSealed = false;
      const seq = this.nextSeq++;
      tail = { seq, path: join(this.o.dir, `${seq}.seg`), bytes: 0 };
      this.segments.push(tail);
    }
    appendFileSync(tail.path, line);
    tail.bytes += Buffer.byteLength(line);
    this.spilled++;
    this.enforceSize();
  }

  private enforceSize(): void {
    while (this.segments.length > 1 && this.diskBytes > this.o.maxBytes) {
      const seg = this.segments[0]!;
      if (this.head !== undefined) this.dropped += this.head.length - this.headIndex;
      else this.dropped += countLines(seg.path);
      this.dropHead();
    }
  }
}

function countLines(path: string): number {
  try {
    let n = 0;
    for (const c of readFileSync(path, 'utf8')) if (c === '\n') n++;
    return n;
  } catch {
    return 0;
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
