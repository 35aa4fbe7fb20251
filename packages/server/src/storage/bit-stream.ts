/**
 * @module storage/bit-stream
 * MSB-first bit writer and reader over byte arrays, used by the chunk codecs. Single writes/reads take up to 32 bits
 * as unsigned 32-bit integers; `writeBig`/`readBig` take up to 53 bits as non-negative safe integers;
 * `writeVarUint`/`readVarUint` are LEB128 over 8-bit groups (values up to 2^53 - 1); `writeOnes`/`readOnes` are
 * unary runs (the quotients of Rice codes).
 *
 * The writer keeps fewer than 8 pending bits in a small accumulator and stores whole bytes; the reader loads the four
 * bytes around its position as one big-endian word, so a read of up to 24 bits is a load, a shift and a mask.
 */

const TWO_32 = 4294967296;
const TWO_16 = 65536;

/** Appends bits to a growable buffer, most significant bit first. */
export class BitWriter {
  private buf: Uint8Array;
  /** Next byte to store. */
  private at = 0;
  /** Pending bits (fewer than 8), right-aligned. */
  private acc = 0;
  private accBits = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(Math.max(8, initialBytes));
  }

  /** Number of bits written so far. */
  get bitLength(): number {
    return this.at * 8 + this.accBits;
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` bits of `value` (0 <= n <= 32). */
  writeBits(value: number, n: number): void {
    if (n > 24) {
      this.writeBits(value >>> 16, n - 16);
      this.writeBits(value & 0xffff, 16);
      return;
    }
    if (n === 0) return;
    if (this.at + 4 > this.buf.length) this.grow();
    // acc holds < 8 bits, so acc << n stays below 2^31.
    const acc = (this.acc << n) | (value & ((1 << n) - 1));
    let bits = this.accBits + n;
    const buf = this.buf;
    while (bits >= 8) {
      bits -= 8;
      buf[this.at++] = acc >>> bits;
    }
    this.acc = acc & ((1 << bits) - 1);
    this.accBits = bits;
  }

  writeBit(bit: boolean): void {
    this.writeBits(bit ? 1 : 0, 1);
  }

  /** Writes `n` one bits (any n >= 0). */
  writeOnes(n: number): void {
    let left = n;
    while (left > 24) {
      this.writeBits(0xffffff, 24);
      left -= 24;
    }
    this.writeBits((1 << left) - 1, left);
  }

  /** Writes a non-negative integer below 2^n using `n` bits (0 <= n <= 53). */
  writeBig(value: number, n: number): void {
    if (n <= 32) {
      this.writeBits(value, n);
      return;
    }
    const hi = Math.floor(value / TWO_32);
    this.writeBits(hi, n - 32);
    this.writeBits(value - hi * TWO_32, 32);
  }

  /** Writes a non-negative safe integer as LEB128 (7 bits per group, high bit = more). */
  writeVarUint(value: number): void {
    let v = value;
    while (v >= 128) {
      this.writeBits((v % 128) | 128, 8);
      v = Math.floor(v / 128);
    }
    this.writeBits(v, 8);
  }

  /** Returns the written bytes (the last byte is zero-padded). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.at + (this.accBits > 0 ? 1 : 0));
    out.set(this.buf.subarray(0, this.at));
    if (this.accBits > 0) out[this.at] = this.acc << (8 - this.accBits);
    return out;
  }
}

/** Reads bits written by {@link BitWriter}. Reading past the end throws a `RangeError`. */
export class BitReader {
  private readonly buf: Uint8Array;
  private pos = 0;
  private readonly end: number;
  /** Bytes from which a four-byte load stays inside the buffer. */
  private readonly fastBytes: number;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.end = buf.length * 8;
    this.fastBytes = buf.length - 3;
  }

  /** Bits not yet read (including the final byte's padding). */
  get remainingBits(): number {
    return this.end - this.pos;
  }

  /** The 32 bits from the current byte on (zeros past the end), shifted so the next unread bit is the top bit. */
  private window(): number {
    const i = this.pos >>> 3;
    const b = this.buf;
    const word =
      i < this.fastBytes
        ? (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]
        : ((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    return word << (this.pos & 7);
  }

  /** Reads `n` bits (0 <= n <= 32) as an unsigned integer. */
  readBits(n: number): number {
    if (n > 24) {
      const hi = this.readBits(n - 16);
      return hi * TWO_16 + this.readBits(16);
    }
    if (n === 0) return 0;
    if (this.pos + n > this.end) throw new RangeError('bit stream: unexpected end of data');
    const v = this.window() >>> (32 - n);
    this.pos += n;
    return v;
  }

  readBit(): boolean {
    return this.readBits(1) === 1;
  }

  /** Counts and consumes one bits up to the first zero (which is consumed too), at most `max` ones (then stops). */
  readOnes(max: number): number {
    let ones = 0;
    for (;;) {
      // At least 25 bits of the window are real data (or zero padding past the end).
      const run = Math.clz32(~this.window());
      const take = Math.min(run, 25, max - ones);
      ones += take;
      this.pos += take;
      if (ones === max) break;
      if (take < 25) {
        this.pos++; // the terminating zero
        break;
      }
    }
    if (this.pos > this.end) throw new RangeError('bit stream: unexpected end of data');
    return ones;
  }

  /** Reads an `n`-bit non-negative integer (0 <= n <= 53). */
  readBig(n: number): number {
    if (n <= 32) return this.readBits(n);
    const hi = this.readBits(n - 32);
    return hi * TWO_32 + this.readBits(32);
  }

  /** Reads a LEB128 value written by {@link BitWriter.writeVarUint}. */
  readVarUint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.readBits(8);
      result += (byte & 127) * scale;
      if ((byte & 128) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 128;
    }
    throw new RangeError('bit stream: varint too large');
  }
}
