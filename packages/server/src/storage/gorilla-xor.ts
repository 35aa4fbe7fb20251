/**
 * @module storage/gorilla-xor
 * The value half of the Gorilla chunk codec for arbitrary doubles (see storage/gorilla for the chunk layout): the
 * first value as 64 raw bits, then each value XORed with the previous one, written as `0` (same value), `10` + the
 * meaningful bits inside the previous leading/trailing-zero window, or `11` + 5-bit leading zeros + 6-bit
 * (length - 1) + the meaningful bits. Doubles are handled as two 32-bit halves of a Uint32Array view, so no value
 * ever passes through a JS number and NaN payloads survive exactly.
 */
import type { BitReader, BitWriter } from './bit-stream.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** Writes the low `len` bits of (hi:lo) >>> trail. */
function writeWindow(w: BitWriter, hi: number, lo: number, trail: number, len: number): void {
  let h: number;
  let l: number;
  if (trail === 0) {
    h = hi;
    l = lo;
  } else if (trail < 32) {
    l = (lo >>> trail) | (hi << (32 - trail));
    h = hi >>> trail;
  } else {
    l = hi >>> (trail - 32);
    h = 0;
  }
  if (len > 32) {
    w.writeBits(h, len - 32);
    w.writeBits(l, 32);
  } else {
    w.writeBits(l, len);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes `count` doubles given as 32-bit word pairs (a Uint32Array view of a Float64Array). */
export function encodeXor(w: BitWriter, words: Uint32Array, count: number): void {
  let prevHi = words[HI];
  let prevLo = words[LO];
  w.writeBits(prevHi, 32);
  w.writeBits(prevLo, 32);
  let winLead = -1;
  let winTrail = 0;
  let winLen = 0;
  for (let i = 1; i < count; i++) {
    const hi = words[2 * i + HI];
    const lo = words[2 * i + LO];
    const xh = (hi ^ prevHi) >>> 0;
    const xl = (lo ^ prevLo) >>> 0;
    prevHi = hi;
    prevLo = lo;
    if (xh === 0 && xl === 0) {
      w.writeBits(0, 1);
      continue;
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    if (lead > 31) lead = 31;
    const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    const len = 64 - lead - trail;
    // Reuse the previous window when it fits and costs no more than a new window
    // would (2 + winLen bits against 2 + 11 + len).
    if (winLead >= 0 && lead >= winLead && trail >= winTrail && winLen <= len + 11) {
      w.writeBits(0b10, 2);
      writeWindow(w, xh, xl, winTrail, winLen);
    } else {
      w.writeBits(0b11, 2);
      w.writeBits(lead, 5);
      w.writeBits(len - 1, 6);
      writeWindow(w, xh, xl, trail, len);
      winLead = lead;
      winTrail = trail;
      winLen = len;
    }
  }
}

/** Reads `count` doubles into a Uint32Array view of a Float64Array. Throws a RangeError on corrupt windows. */
export function decodeXor(r: BitReader, words: Uint32Array, count: number): void {
  let hi = r.readBits(32);
  let lo = r.readBits(32);
  words[HI] = hi;
  words[LO] = lo;
  let winTrail = 0;
  let winLen = 0;
  for (let i = 1; i < count; i++) {
    if (r.readBit()) {
      if (r.readBit()) {
        const lead = r.readBits(5);
        winLen = r.readBits(6) + 1;
        winTrail = 64 - lead - winLen;
        if (winTrail < 0) throw new RangeError('gorilla: corrupt chunk (bad xor window)');
      } else if (winLen === 0) {
        throw new RangeError('gorilla: corrupt chunk (xor window used before being set)');
      }
      let h = 0;
      let l: number;
      if (winLen > 32) {
        h = r.readBits(winLen - 32);
        l = r.readBits(32);
      } else {
        l = r.readBits(winLen);
      }
      let xh: number;
      let xl: number;
      if (winTrail === 0) {
        xh = h;
        xl = l;
      } else if (winTrail < 32) {
        xh = (h << winTrail) | (l >>> (32 - winTrail));
        xl = l << winTrail;
      } else {
        xh = l << (winTrail - 32);
        xl = 0;
      }
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
    }
    words[2 * i + HI] = hi;
    words[2 * i + LO] = lo;
  }
}
