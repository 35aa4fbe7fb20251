/**
 * @module storage/rice
 * Blocked Rice codes for runs of non-negative integers (up to 2^53 - 1), the entropy stage of the v2 chunk codec
 * (storage/chunk-codec). Values go in blocks of {@link RICE_BLOCK}; each block starts with a 6-bit header: its Rice
 * parameter `k` (0..53), or 63 when every value of the block is 0 (then nothing else is written for it). A value `z`
 * with quotient `q = floor(z / 2^k)` below {@link ESCAPE_QUOTIENT} is `q` one bits, a zero, then the low `k` bits of
 * `z`; a larger one is {@link ESCAPE_QUOTIENT} one bits, its bit length `L` in 6 bits, then `z` in `L` bits.
 *
 * The encoder picks each block's `k` from its mean and keeps whichever of the neighbouring parameters costs fewest
 * bits, so a block of near-constant deltas costs about `log2(spread) + 1.5` bits a value and a block of zeros 6 bits.
 * `zigzag` maps signed integers to non-negative ones (0, -1, 1, -2 ... → 0, 1, 2, 3 ...).
 */
import type { BitReader, BitWriter } from './bit-stream.js';

export const RICE_BLOCK = 128;
export const ESCAPE_QUOTIENT = 32;
const ZERO_BLOCK = 63;
const MAX_K = 53;

const POW2: number[] = [];
for (let k = 0; k <= 64; k++) POW2.push(2 ** k);

/** Signed → non-negative: 0, -1, 1, -2, 2 ... → 0, 1, 2, 3, 4 ... (exact for |x| < 2^52). */
export function zigzag(x: number): number {
  return x >= 0 ? x * 2 : -x * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bit length of a non-negative integer below 2^53 (0 for 0). */
export function bitLength(z: number): number {
  if (z < 4294967296) return 32 - Math.clz32(z);
  return 32 + (32 - Math.clz32(Math.floor(z / 4294967296)));
}

function cost(z: number, k: number): number {
  const q = k < 31 && z < 2147483648 ? z >>> k : Math.floor(z / POW2[k]);
  return q < ESCAPE_QUOTIENT ? q + 1 + k : ESCAPE_QUOTIENT + 6 + bitLength(z);
}

function blockCost(zs: ArrayLike<number>, from: number, to: number, k: number): number {
  let bits = 0;
  for (let i = from; i < to; i++) bits += cost(zs[i], k);
  return bits;
}

/** The parameter for one block, or ZERO_BLOCK, and its cost in bits (header included). */
function plan(zs: ArrayLike<number>, from: number, to: number): { k: number; bits: number } {
  let sum = 0;
  for (let i = from; i < to; i++) sum += zs[i];
  if (sum === 0) return { k: ZERO_BLOCK, bits: 6 };
  const mean = sum / (to - from);
  const k0 = mean < 2 ? 0 : Math.min(MAX_K, bitLength(Math.floor(mean)) - 1);
  let best = k0;
  let bestBits = blockCost(zs, from, to, k0);
  for (const k of [k0 - 1, k0 + 1]) {
    if (k < 0 || k > MAX_K) continue;
    const bits = blockCost(zs, from, to, k);
    if (bits < bestBits) {
      best = k;
      bestBits = bits;
    }
  }
  return { k: best, bits: bestBits + 6 };
}

/** Bits that {@link writeRice} would take for `zs[from..to)`. */
export function riceBits(zs: ArrayLike<number>, from: number, to: number): number {
  let bits = 0;
  for (let b = from; b < to; b += RICE_BLOCK) bits += plan(zs, b, Math.min(to, b + RICE_BLOCK)).bits;
  return bits;
}

/** Writes `zs[from..to)` (non-negative integers below 2^53) as Rice blocks. */
export function writeRice(w: BitWriter, zs: ArrayLike<number>, from: number, to: number): void {
  for (let b = from; b < to; b += RICE_BLOCK) {
    const end = Math.min(to, b + RICE_BLOCK);
    const { k } = plan(zs, b, end);
    w.writeBits(k, 6);
    if (k === ZERO_BLOCK) continue;
    const p = POW2[k];
    for (let i = b; i < end; i++) {
      const z = zs[i];
      const q = k < 31 && z < 2147483648 ? z >>> k : Math.floor(z / p);
      if (q < ESCAPE_QUOTIENT) {
        if (q < 23) w.writeBits(((1 << q) - 1) << 1, q + 1);
        else {
          w.writeOnes(q);
          w.writeBits(0, 1);
        }
        w.writeBig(z - q * p, k);
      } else {
        w.writeOnes(ESCAPE_QUOTIENT);
        const len = bitLength(z);
        w.writeBits(len, 6);
        w.writeBig(z, len);
      }
    }
  }
}

/** Reads `count` values written by {@link writeRice} into `out[from..from + count)`. */
export function readRice(r: BitReader, out: Float64Array, from: number, count: number): void {
  const to = from + count;
  for (let b = from; b < to; b += RICE_BLOCK) {
    const end = Math.min(to, b + RICE_BLOCK);
    const k = r.readBits(6);
    if (k === ZERO_BLOCK) {
      out.fill(0, b, end);
      continue;
    }
    if (k > MAX_K) throw new RangeError(`chunk: corrupt Rice block (k = ${k})`);
    const p = POW2[k];
    for (let i = b; i < end; i++) {
      const q = r.readOnes(ESCAPE_QUOTIENT);
      if (q < ESCAPE_QUOTIENT) {
        out[i] = q * p + (k <= 24 ? r.readBits(k) : r.readBig(k));
      } else {
        const len = r.readBits(6);
        if (len > 53) throw new RangeError(`chunk: corrupt Rice escape (${len} bits)`);
        out[i] = r.readBig(len);
      }
    }
  }
}
