/**
 * @module storage/chunk-codec
 * The compressed chunk format of the metric store, shared by every engine (SQLite, PostgreSQL): one chunk holds the
 * samples of one series over a span of time (`encodeSamples`), or its rollup buckets (`encodeRollups`: bucket
 * starts with min, max, sum and count columns). Round trips are bit-exact for every double (NaN payloads, ±Infinity,
 * -0, subnormals). `decodeSamples` also reads the version 1 chunks of storage/gorilla, so stored data stays readable.
 *
 * Version 2 layout, one MSB-first bit stream (storage/bit-stream):
 * ```
 * u8 version (2) | u8 kind (0 samples, 1 rollups) | varuint count
 * if count > 0:
 *   timestamps: varuint first | [count >= 2: varuint first delta, then (count - 2) delta-of-deltas, zigzag, as
 *               Rice blocks (storage/rice)]
 *   columns:    samples: value | rollups: min, max, sum, count
 * column: u8 encoding
 *   0 xor:      Gorilla XOR of the doubles (storage/gorilla-xor)
 *   1 decimal:  every value is v = k / 10^d for an integer |k| <= 2^50, give or take a few units in the last place:
 *               u4 d | u2 order (0, 1, 2) | u1 residuals | u1 0, then `order` leading integers (zigzag varuints:
 *               k0, then k1 - k0), then the rest of the order-th differences of k, zigzag, as Rice blocks; with
 *               residuals, then every value's (bits of v) - (bits of k / 10^d) as a 64-bit integer, zigzag, as Rice
 *               blocks
 * ```
 * Decimal columns carry integers, counters, gauges with a few decimals, and the sums of such values (which are off
 * the nearest decimal by an ulp or two, hence the residuals); the encoder picks the scale, the order of differences
 * with the fewest bits, and falls back to XOR when that is smaller (noisy full-precision floats).
 *
 * Timestamps are integer milliseconds in 0 .. 2^53 - 1 and must not decrease (equal timestamps are allowed).
 */
import { BitReader, BitWriter } from './bit-stream.js';
import { type DecodedChunk, decodeChunk as decodeV1 } from './gorilla.js';
import { decodeXor, encodeXor } from './gorilla-xor.js';
import { RICE_BLOCK, readRice, riceBits, unzigzag, writeRice, zigzag } from './rice.js';

export type { DecodedChunk } from './gorilla.js';

export const CHUNK_VERSION = 2;
const KIND_SAMPLES = 0;
const KIND_ROLLUPS = 1;
const ENC_XOR = 0;
const ENC_DECIMAL = 1;

const MAX_SCALE = 9;
const MAX_K = 2 ** 50;
/** Largest residual, in units in the last place, a decimal column accepts. */
const MAX_RESIDUAL = 2 ** 24;
const POW10: number[] = [];
for (let d = 0; d <= MAX_SCALE; d++) POW10.push(10 ** d);
const TWO_32 = 4294967296;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const scratchF = new Float64Array(2);
const scratchW = new Uint32Array(scratchF.buffer);

/** Rollup buckets of one series as columns, oldest first. */
export interface RollupColumns {
  /** Bucket starts, ms. */
  ts: number[];
  min: Float64Array;
  max: Float64Array;
  sum: Float64Array;
  count: Float64Array;
}

function checkTimestamps(ts: ArrayLike<number>): void {
  let prev = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (!Number.isSafeInteger(t) || t < 0) {
      throw new RangeError(`chunk: timestamp at index ${i} must be a non-negative integer (ms), got ${t}`);
    }
    if (t < prev) throw new RangeError(`chunk: timestamps must not decrease (index ${i}: ${t} after ${prev})`);
    prev = t;
  }
}

let zsBuf = new Float64Array(256);
/** A scratch array of at least n values (reused across calls: the codec is synchronous). */
function scratch(n: number): Float64Array {
  if (zsBuf.length < n) zsBuf = new Float64Array(Math.max(n, zsBuf.length * 2));
  return zsBuf;
}

function writeTimestamps(w: BitWriter, ts: ArrayLike<number>): void {
  const n = ts.length;
  w.writeVarUint(ts[0]);
  if (n < 2) return;
  let prevDelta = ts[1] - ts[0];
  w.writeVarUint(prevDelta);
  const zs = scratch(n);
  for (let i = 2; i < n; i++) {
    const delta = ts[i] - ts[i - 1];
    zs[i - 2] = zigzag(delta - prevDelta);
    prevDelta = delta;
  }
  writeRice(w, zs, 0, n - 2);
}

function readTimestamps(r: BitReader, n: number): number[] {
  const ts = new Array<number>(n);
  let t = r.readVarUint();
  ts[0] = t;
  if (n < 2) return ts;
  let delta = r.readVarUint();
  t += delta;
  ts[1] = t;
  if (n > 2) {
    const zs = new Float64Array(n - 2);
    readRice(r, zs, 0, n - 2);
    for (let i = 2; i < n; i++) {
      delta += unzigzag(zs[i - 2]);
      t += delta;
      if (delta < 0) throw new RangeError('chunk: corrupt timestamps (they decrease)');
      ts[i] = t;
    }
  }
  if (!Number.isSafeInteger(t)) throw new RangeError('chunk: corrupt timestamps (out of range)');
  return ts;
}

/** Is `v` exactly k / 10^d for an integer k within range (and not -0)? Returns k, or undefined. */
function exactK(v: number, d: number): number | undefined {
  const p = POW10[d];
  const k = Math.round(v * p);
  if (k > MAX_K || k < -MAX_K || k / p !== v || (v === 0 && 1 / v < 0)) return undefined;
  return k === 0 ? 0 : k;
}

/** The smallest scale at which every value is exact, or -1. */
function exactScale(values: Float64Array): number {
  let d = 0;
  for (let i = 0; i < values.length; i++) {
    while (exactK(values[i], d) === undefined) if (++d > MAX_SCALE) return -1;
  }
  return d;
}

/** A value within this many units in the last place of a decimal counts as "near" it. */
const NEAR_ULPS = 256;

/** The smallest scale at which `v` is within NEAR_ULPS of a decimal, or -1. */
function nearScaleOf(v: number): number {
  for (let d = 0; d <= MAX_SCALE; d++) {
    const p = POW10[d];
    const k = Math.round(v * p);
    if (!(k <= MAX_K && k >= -MAX_K)) return -1;
    const r = residual(v, (k === 0 ? 0 : k) / p);
    if (r !== undefined && r <= NEAR_ULPS && r >= -NEAR_ULPS) return d;
  }
  return -1;
}

/**
 * A scale for values that are mostly near decimals (sums of decimals are often an ulp off): the largest scale those
 * need, when at least half of the values are near one; otherwise -1. The first values decide quickly for noise.
 */
function nearScale(values: Float64Array): number {
  const n = values.length;
  let near = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const s = nearScaleOf(values[i]);
    if (s >= 0) {
      near++;
      if (s > d) d = s;
    }
    if (i === 15 && near * 2 < 16) return -1;
  }
  return near * 2 >= n ? d : -1;
}

/** (bits of v) - (bits of k / 10^d) as an integer, or undefined when it is too large (or v is NaN). */
function residual(v: number, base: number): number | undefined {
  scratchF[0] = v;
  scratchF[1] = base;
  const r = (scratchW[HI] - scratchW[2 + HI]) * TWO_32 + (scratchW[LO] - scratchW[2 + LO]);
  return r <= MAX_RESIDUAL && r >= -MAX_RESIDUAL && !Number.isNaN(v) ? r : undefined;
}

interface DecimalPlan {
  d: number;
  order: number;
  ks: Float64Array;
  /** Zigzagged residuals, or undefined when every value is exact. */
  residuals: Float64Array | undefined;
  bits: number;
}

/** The k integers (and residuals) of `values` at scale d, or undefined when a value does not fit. */
function decimalPlan(values: Float64Array, d: number, withResiduals: boolean): DecimalPlan | undefined {
  const n = values.length;
  const p = POW10[d];
  const ks = new Float64Array(n);
  let residuals: Float64Array | undefined;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const rounded = Math.round(v * p);
    if (!(rounded <= MAX_K && rounded >= -MAX_K)) return undefined;
    // The decoder computes k / 10^d with k = +0, never -0.
    const k = rounded === 0 ? 0 : rounded;
    ks[i] = k;
    if (k / p === v && !(v === 0 && 1 / v < 0)) continue;
    if (!withResiduals) return undefined;
    const r = residual(v, k / p);
    if (r === undefined) return undefined;
    residuals ??= new Float64Array(n);
    residuals[i] = zigzag(r);
  }
  // The order of differences with the smallest magnitudes (Rice codes cost about log2 of the mean).
  let sum0 = Math.abs(ks[0]);
  let sum1 = 0;
  let sum2 = 0;
  for (let i = 1; i < n; i++) {
    const d1 = ks[i] - ks[i - 1];
    sum0 += Math.abs(ks[i]);
    sum1 += Math.abs(d1);
    if (i >= 2) sum2 += Math.abs(d1 - (ks[i - 1] - ks[i - 2]));
  }
  const order = sum1 <= sum0 && sum1 <= sum2 ? 1 : sum2 < sum0 ? 2 : 0;
  const zs = differences(ks, order);
  let bits = 16 + riceBits(zs, 0, zs.length);
  for (let i = 0; i < Math.min(order, n); i++) bits += 8; // leading integers, roughly
  if (residuals !== undefined) bits += riceBits(residuals, 0, n);
  return { d, order, ks, residuals, bits };
}

/** The zigzagged order-th differences of ks after the `order` leading ones. */
function differences(ks: Float64Array, order: number): Float64Array {
  const n = ks.length;
  const zs = scratch(n);
  let m = 0;
  for (let i = order; i < n; i++) {
    const x = order === 0 ? ks[i] : order === 1 ? ks[i] - ks[i - 1] : ks[i] - 2 * ks[i - 1] + ks[i - 2];
    zs[m++] = zigzag(x);
  }
  return zs.subarray(0, m);
}

function xorWords(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

function writeColumn(w: BitWriter, values: Float64Array): void {
  const n = values.length;
  const exact = exactScale(values);
  let plan = exact >= 0 ? decimalPlan(values, exact, false) : undefined;
  if (plan === undefined) {
    const near = nearScale(values);
    const candidate = near >= 0 ? decimalPlan(values, near, true) : undefined;
    if (candidate !== undefined) {
      const probe = new BitWriter(n * 8 + 16);
      encodeXor(probe, xorWords(values), n);
      if (candidate.bits < probe.bitLength) plan = candidate;
    }
  }
  if (plan === undefined) {
    w.writeBits(ENC_XOR, 8);
    encodeXor(w, xorWords(values), n);
    return;
  }
  w.writeBits(ENC_DECIMAL, 8);
  w.writeBits((plan.d << 4) | (plan.order << 2) | (plan.residuals === undefined ? 0 : 2), 8);
  const ks = plan.ks;
  if (plan.order >= 1 && n >= 1) w.writeVarUint(zigzag(ks[0]));
  if (plan.order >= 2 && n >= 2) w.writeVarUint(zigzag(ks[1] - ks[0]));
  const zs = differences(ks, plan.order);
  writeRice(w, zs, 0, zs.length);
  if (plan.residuals !== undefined) writeRice(w, plan.residuals, 0, n);
}

function readColumn(r: BitReader, n: number): Float64Array {
  const out = new Float64Array(n);
  const encoding = r.readBits(8);
  if (encoding === ENC_XOR) {
    decodeXor(r, new Uint32Array(out.buffer), n);
    return out;
  }
  if (encoding !== ENC_DECIMAL) throw new RangeError(`chunk: unknown column encoding ${encoding}`);
  const flags = r.readBits(8);
  const d = flags >>> 4;
  const order = (flags >>> 2) & 3;
  const hasResiduals = (flags & 2) !== 0;
  if (d > MAX_SCALE || order > 2) throw new RangeError('chunk: corrupt decimal column');
  const lead = Math.min(order, n);
  const k0 = lead >= 1 ? unzigzag(r.readVarUint()) : 0;
  const d0 = lead >= 2 ? unzigzag(r.readVarUint()) : 0;
  const zs = new Float64Array(n - lead);
  readRice(r, zs, 0, n - lead);
  const p = POW10[d];
  if (order === 0) {
    for (let i = 0; i < n; i++) out[i] = unzigzag(zs[i]) / p;
  } else {
    let k = k0;
    let delta = d0;
    out[0] = k / p;
    if (order === 2 && n >= 2) {
      k += delta;
      out[1] = k / p;
    }
    for (let i = lead; i < n; i++) {
      const x = unzigzag(zs[i - lead]);
      if (order === 1) k += x;
      else {
        delta += x;
        k += delta;
      }
      out[i] = k / p;
    }
  }
  if (hasResiduals) {
    const rs = new Float64Array(n);
    readRice(r, rs, 0, n);
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) {
      if (rs[i] === 0) continue;
      const total = words[2 * i + LO] + unzigzag(rs[i]);
      const carry = Math.floor(total / TWO_32);
      words[2 * i + LO] = total - carry * TWO_32;
      words[2 * i + HI] += carry;
    }
  }
  return out;
}

function writeHeader(w: BitWriter, kind: number, count: number): void {
  w.writeBits(CHUNK_VERSION, 8);
  w.writeBits(kind, 8);
  w.writeVarUint(count);
}

function readHeader(r: BitReader, kind: number): number {
  const version = r.readBits(8);
  if (version !== CHUNK_VERSION) throw new RangeError(`chunk: unsupported version ${version}`);
  const k = r.readBits(8);
  if (k !== kind) throw new RangeError(`chunk: expected kind ${kind}, got ${k}`);
  const count = r.readVarUint();
  // Timestamps cost at least a 6-bit block header per RICE_BLOCK values: reject absurd counts before allocating.
  if (count > (r.remainingBits / 6 + 1) * RICE_BLOCK + 2) throw new RangeError('chunk: corrupt (count exceeds data)');
  return count;
}

/**
 * Encodes the samples of one series. `ts` are integer ms, non-decreasing; `values` any doubles (a Float64Array keeps
 * NaN payload bits exact). Throws a RangeError on mismatched lengths or bad timestamps.
 */
export function encodeSamples(ts: ArrayLike<number>, values: Float64Array): Uint8Array {
  const n = ts.length;
  if (values.length !== n) throw new RangeError(`chunk: ${n} timestamps but ${values.length} values`);
  checkTimestamps(ts);
  const w = new BitWriter(16 + n * 2);
  writeHeader(w, KIND_SAMPLES, n);
  if (n === 0) return w.finish();
  writeTimestamps(w, ts);
  writeColumn(w, values);
  return w.finish();
}

/** Decodes a samples chunk of either version (2, or 1 from storage/gorilla). Throws a RangeError on corrupt input. */
export function decodeSamples(buf: Uint8Array): DecodedChunk {
  if (buf.length > 0 && buf[0] === 1) return decodeV1(buf);
  const r = new BitReader(buf);
  const n = readHeader(r, KIND_SAMPLES);
  if (n === 0) return { ts: [], values: new Float64Array(0) };
  const ts = readTimestamps(r, n);
  const values = readColumn(r, n);
  return { ts, values };
}

/** Encodes rollup buckets (bucket starts non-decreasing integer ms, columns of equal length). */
export function encodeRollups(c: RollupColumns): Uint8Array {
  const n = c.ts.length;
  for (const col of [c.min, c.max, c.sum, c.count]) {
    if (col.length !== n) throw new RangeError(`chunk: ${n} buckets but a column of ${col.length}`);
  }
  checkTimestamps(c.ts);
  const w = new BitWriter(16 + n * 8);
  writeHeader(w, KIND_ROLLUPS, n);
  if (n === 0) return w.finish();
  writeTimestamps(w, c.ts);
  writeColumn(w, c.min);
  writeColumn(w, c.max);
  writeColumn(w, c.sum);
  writeColumn(w, c.count);
  return w.finish();
}

export function decodeRollups(buf: Uint8Array): RollupColumns {
  const r = new BitReader(buf);
  const n = readHeader(r, KIND_ROLLUPS);
  if (n === 0) {
    const empty = new Float64Array(0);
    return { ts: [], min: empty, max: empty, sum: empty, count: empty };
  }
  const ts = readTimestamps(r, n);
  return { ts, min: readColumn(r, n), max: readColumn(r, n), sum: readColumn(r, n), count: readColumn(r, n) };
}
