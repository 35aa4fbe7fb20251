/**
 * @module storage/bit-stream
 * MSB-first bit writer and reader over byte arrays, used by the Gorilla chunk codec. Single writes/reads take up to
 * 32 bits as unsigned 32-bit integers; `writeBig`/`readBig` take up to 53 bits as non-negative safe integers;
 * `writeVarUint`/`readVarUint` are LEB128 over 8-bit groups (values up to 2^53 - 1).
 */

const TWO_32 = 4294967296;

/** Appends bits to a growable buffer, most significant bit first. */
export class BitWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(Math.max(8, initialBytes));
  }

  /** Number of bits written so far. */
  get bitLength(): number {
    return this.pos;
  }

  private ensure(bits: number): void {
    const needed = (this.pos + bits + 7) >>> 3;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes the low `n` bits of `value` (0 <= n <= 32). */
  writeBits(value: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    let left = n;
    while (left > 0) {
      const free = 8 - (pos & 7);
      const take = Math.min(left, free);
      left -= take;
      const chunk = (value >>> left) & ((1 << take) - 1);
      buf[pos >>> 3] |= chunk << (free - take);
      pos += take;
    }
    this.pos = pos;
  }

  writeBit(bit: boolean): void {
    this.writeBits(bit ? 1 : 0, 1);
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
    return this.buf.slice(0, (this.pos + 7) >>> 3);
  }
}

/** Reads bits written by {@link BitWriter}. Reading past the end throws a `RangeError`. */
export class BitReader {
  private readonly buf: Uint8Array;
  private pos = 0;
  private readonly end: number;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.end = buf.length * 8;
  }

  /** Bits not yet read (including the final byte's padding). */
  get remainingBits(): number {
    return this.end - this.pos;
  }

  /** Reads `n` bits (0 <= n <= 32) as an unsigned integer. */
  readBits(n: number): number {
    if (n === 0) return 0;
    if (this.pos + n > this.end) throw new RangeError('bit stream: unexpected end of data');
    const buf = this.buf;
    let pos = this.pos;
    let left = n;
    let out = 0;
    while (left > 0) {
      const used = pos & 7;
      const avail = 8 - used;
      const take = Math.min(left, avail);
      const chunk = (buf[pos >>> 3] >>> (avail - take)) & ((1 << take) - 1);
      out = (out << take) | chunk;
      pos += take;
      left -= take;
    }
    this.pos = pos;
    return out >>> 0;
  }

  readBit(): boolean {
    return this.readBits(1) === 1;
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
