/**
 * @module storage/pending-batch
 * The blob of one `pending` row: every sample of one write-queue flush, durable but not yet sealed into a chunk.
 * Columnar so that packing and unpacking are typed-array copies (no per-sample work, NaN payloads kept bit for bit):
 * ```
 * u32 version (1) | u32 count | f64 ts[count] | f64 values[count] | u32 series[count]
 * ```
 * 20 bytes per sample, in the host's byte order (little-endian on every platform Node supports in practice; a blob
 * written with the other order fails the version check instead of decoding garbage).
 */

export const PENDING_VERSION = 1;
const HEADER_BYTES = 8;

/** Samples for several series as parallel arrays; `count` may be less than the arrays' length. */
export interface PendingSamples {
  count: number;
  series: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
}

/** Packs `parts` (holding `total` samples in all) into one blob. */
export function packPending(parts: readonly PendingSamples[], total: number): Uint8Array {
  const buf = new ArrayBuffer(HEADER_BYTES + total * 20);
  const header = new Uint32Array(buf, 0, 2);
  header[0] = PENDING_VERSION;
  header[1] = total;
  const ts = new Float64Array(buf, HEADER_BYTES, total);
  const values = new Float64Array(buf, HEADER_BYTES + total * 8, total);
  const series = new Uint32Array(buf, HEADER_BYTES + total * 16, total);
  let at = 0;
  for (const part of parts) {
    const n = part.count;
    ts.set(part.ts.subarray(0, n), at);
    values.set(part.values.subarray(0, n), at);
    series.set(part.series.subarray(0, n), at);
    at += n;
  }
  if (at !== total) throw new RangeError(`pending: ${at} samples packed, ${total} announced`);
  return new Uint8Array(buf);
}

/** Unpacks a blob written by {@link packPending}. Throws a RangeError on a foreign version or a truncated blob. */
export function unpackPending(blob: Uint8Array): PendingSamples {
  if (blob.byteLength < HEADER_BYTES) throw new RangeError('pending: blob shorter than its header');
  // Typed views need aligned offsets: copy unless the blob already starts on an 8-byte boundary.
  const bytes = blob.byteOffset % 8 === 0 ? blob : blob.slice();
  const header = new Uint32Array(bytes.buffer, bytes.byteOffset, 2);
  if (header[0] !== PENDING_VERSION) throw new RangeError(`pending: unsupported blob version ${header[0]}`);
  const count = header[1];
  if (bytes.byteLength !== HEADER_BYTES + count * 20) {
    throw new RangeError(`pending: blob of ${bytes.byteLength} bytes cannot hold ${count} samples`);
  }
  const base = bytes.byteOffset + HEADER_BYTES;
  return {
    count,
    ts: new Float64Array(bytes.buffer, base, count),
    values: new Float64Array(bytes.buffer, base + count * 8, count),
    series: new Uint32Array(bytes.buffer, base + count * 16, count),
  };
}
