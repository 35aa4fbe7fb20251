/**
 * @module metrics/ingest/influx-worker
 * The line protocol parse thread (see influx-parallel): parses the bodies it is sent with `parseInfluxColumns` and
 * answers with the samples as columns. A series slot cannot cross threads, so each gets a number (`wire`), sent with
 * its name and labels the first time it appears; the main thread keeps the slots by number. Numbers only grow; once
 * `maxSlots` were given since the current `base`, the next number becomes the base and every slot is numbered anew,
 * so the main thread's table (numbers from the base) stays within `maxSlots` plus one body's samples.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { type InfluxPrecision, parseInfluxColumns } from './influx-line.js';
import type { IngestError } from './ingest-result.js';

export interface ParseRequest {
  id: number;
  body: Uint8Array;
  now: number;
  precision: InfluxPrecision;
}

export interface NewSlot {
  id: number;
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface ParsedReply {
  id: number;
  /** The first number of the current table: numbers below it are no longer used. */
  base: number;
  /** Slots numbered by this reply, in number order. */
  slots: NewSlot[];
  length: number;
  /** Per sample, its slot's number. */
  ids: Float64Array;
  ts: Float64Array;
  values: Float64Array;
  errors: IngestError[];
  lines: number;
  skippedStringFields: number;
  /** Time the thread spent on the body, ms. */
  ms: number;
}

export interface FailedReply {
  id: number;
  error: string;
}

export type ParseReply = ParsedReply | FailedReply;

export interface WorkerOptions {
  maxSlots: number;
}

const port = parentPort;
if (port === null) throw new Error('influx-worker runs as a worker thread');
const { maxSlots } = workerData as WorkerOptions;

let base = 0;
let next = 0;

port.on('message', (req: ParseRequest) => {
  let reply: ParseReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const started = performance.now();
    const r = parseInfluxColumns(req.body, req.now, req.precision);
    const { length, slots } = r.columns;
    // A body never names more slots than it has samples: with room for that many, its numbers share one table.
    if (next - base + length > maxSlots) base = next;
    const ids = new Float64Array(length);
    const fresh: NewSlot[] = [];
    for (let i = 0; i < length; i++) {
      const slot = slots[i]!;
      if (slot.wire < base) {
        slot.wire = next++;
        fresh.push({ id: slot.wire, name: slot.name, labels: slot.labels });
      }
      ids[i] = slot.wire;
    }
    const ts = r.columns.ts.subarray(0, length).slice();
    const values = r.columns.values.subarray(0, length).slice();
    transfer.push(ids.buffer, ts.buffer, values.buffer);
    reply = {
      id: req.id,
      base,
      slots: fresh,
      length,
      ids,
      ts,
      values,
      errors: r.errors,
      lines: r.lines,
      skippedStringFields: r.skippedStringFields,
      ms: performance.now() - started,
    };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
});
