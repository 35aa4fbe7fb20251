/** @module storage/gorilla.test — round trips, edge floats, robustness and compression of the chunk codec. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../testing/seeded-random.js';
import { BitReader, BitWriter } from './bit-stream.js';
import { decodeChunk, encodeChunk, readChunkHeader } from './gorilla.js';

function fromBits(bits: bigint[]): Float64Array {
  const out = new Float64Array(bits.length);
  new BigUint64Array(out.buffer).set(bits);
  return out;
}

function assertBitsEqual(actual: Float64Array, expected: Float64Array, context = ''): void {
  assert.equal(actual.length, expected.length, `length ${context}`);
  const a = new BigUint64Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new BigUint64Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) {
      assert.fail(`${context} value ${i}: got 0x${a[i].toString(16)}, expected 0x${e[i].toString(16)}`);
    }
  }
}

function roundTrip(ts: number[], values: Float64Array, context = ''): Uint8Array {
  const buf = encodeChunk(ts, values);
  const out = decodeChunk(buf);
  assert.deepEqual(out.ts, ts, `timestamps ${context}`);
  assertBitsEqual(out.values, values, context);
  return buf;
}

function regularTs(count: number, start = 1_700_000_000_000, step = 1000): number[] {
  return Array.from({ length: count }, (_, i) => start + i * step);
}

describe('bit stream', () => {
  it('round-trips mixed widths, big values and varints', () => {
    const rand = prng(1);
    const ops: { kind: 'bits' | 'big' | 'var'; n: number; v: number }[] = [];
    const w = new BitWriter(1);
    for (let i = 0; i < 5000; i++) {
      const kind = (['bits', 'big', 'var'] as const)[Math.floor(rand() * 3)];
      if (kind === 'bits') {
        const n = Math.floor(rand() * 33);
        const v = n === 0 ? 0 : Math.floor(rand() * 2 ** n);
        w.writeBits(v, n);
        ops.push({ kind, n, v });
      } else if (kind === 'big') {
        const n = Math.floor(rand() * 54);
        const v = Math.floor(rand() * 2 ** n);
        w.writeBig(v, n);
        ops.push({ kind, n, v });
      } else {
        const v = Math.floor(rand() * 2 ** Math.floor(rand() * 54));
        w.writeVarUint(v);
        ops.push({ kind, n: 0, v });
      }
    }
    const r = new BitReader(w.finish());
    for (const op of ops) {
      const got = op.kind === 'bits' ? r.readBits(op.n) : op.kind === 'big' ? r.readBig(op.n) : r.readVarUint();
      assert.equal(got, op.v);
    }
    assert.ok(r.remainingBits < 8);
    assert.throws(() => r.readBits(8), RangeError);
  });
});

describe('gorilla chunk codec', () => {
  it('handles empty and single-sample chunks', () => {
    const empty = roundTrip([], new Float64Array(0));
    assert.equal(readChunkHeader(empty).count, 0);
    assert.equal(readChunkHeader(empty).firstTs, undefined);
    for (const v of [0, 42, 0.1, Number.NaN, -0, Number.POSITIVE_INFINITY]) {
      const buf = roundTrip([1_700_000_000_123], Float64Array.of(v));
      assert.equal(readChunkHeader(buf).firstTs, 1_700_000_000_123);
    }
    roundTrip([0], Float64Array.of(1));
    roundTrip([Number.MAX_SAFE_INTEGER], Float64Array.of(1));
  });

  it('keeps edge doubles bit-exact, NaN payloads included', () => {
    const bits = [
      0x7ff8000000000000n, // canonical quiet NaN
      0xfff8000000000000n, // negative quiet NaN
      0x7ff0000000000001n, // signalling NaN, payload 1
      0x7ff4dead0000beefn, // signalling NaN with a payload
      0xffffffffffffffffn, // all-ones NaN
      0x7ffc000000abcdefn, // quiet NaN with a payload
      0x7ff0000000000000n, // +Infinity
      0xfff0000000000000n, // -Infinity
      0x0000000000000000n, // +0
      0x8000000000000000n, // -0
      0x0000000000000001n, // smallest subnormal
      0x800fffffffffffffn, // largest negative subnormal
      0x000fffffffffffffn, // largest subnormal
      0x0010000000000000n, // smallest normal
      0x7fefffffffffffffn, // largest finite
      0xffefffffffffffffn, // most negative finite
      0x3ff0000000000000n, // 1
      0x3fb999999999999an, // 0.1
    ];
    const values = fromBits(bits);
    const ts = regularTs(bits.length);
    roundTrip(ts, values, 'edge');
    // Every ordered pair, so each XOR transition is exercised.
    for (let i = 0; i < bits.length; i++) {
      for (let j = 0; j < bits.length; j++) {
        roundTrip([1, 2, 3], fromBits([bits[i], bits[j], bits[i]]), `pair ${i},${j}`);
      }
    }
  });

  it('round-trips random bit patterns and random doubles (property test)', () => {
    const rand = prng(42);
    for (let round = 0; round < 300; round++) {
      const count = Math.floor(rand() * 300);
      const bits: bigint[] = [];
      const style = round % 3;
      let prev = BigInt(Math.floor(rand() * 2 ** 32)) << 32n;
      for (let i = 0; i < count; i++) {
        let b: bigint;
        if (style === 0) {
          b = (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
        } else if (style === 1) {
          // Small mutations of the previous value: long runs that reuse the XOR window.
          b = rand() < 0.3 ? prev : prev ^ (BigInt(Math.floor(rand() * 2 ** 20)) << BigInt(Math.floor(rand() * 44)));
        } else {
          const f = new Float64Array([(rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20)]);
          b = new BigUint64Array(f.buffer)[0];
        }
        bits.push(b);
        prev = b;
      }
      const ts: number[] = [];
      let t = Math.floor(rand() * 2 ** 42);
      for (let i = 0; i < count; i++) {
        const r = rand();
        t += r < 0.5 ? 1000 : r < 0.7 ? 0 : r < 0.9 ? Math.floor(rand() * 5000) : Math.floor(rand() * 2 ** 36);
        ts.push(t);
      }
      roundTrip(ts, fromBits(bits), `round ${round}`);
    }
  });

  it('round-trips decimal-looking values (integer path) and falls back to XOR when one value does not fit', () => {
    const rand = prng(7);
    for (let round = 0; round < 200; round++) {
      const count = 1 + Math.floor(rand() * 400);
      const digits = Math.floor(rand() * 10);
      const p = 10 ** digits;
      const magnitude = 10 ** Math.floor(rand() * 8);
      const values = new Float64Array(count);
      let v = (rand() - 0.5) * magnitude;
      for (let i = 0; i < count; i++) {
        v += (rand() - 0.5) * magnitude * 0.01;
        values[i] = Math.round(v * p) / p;
      }
      if (round % 5 === 0) values[Math.floor(rand() * count)] = round % 10 === 0 ? Number.NaN : -0;
      if (round % 7 === 0) values[Math.floor(rand() * count)] = 0.1 + 0.2;
      const buf = roundTrip(regularTs(count), values, `decimal round ${round}`);
      const header = readChunkHeader(buf);
      if (round % 5 === 0 || round % 7 === 0) assert.equal(header.encoding, 'xor');
    }
  });

  it('round-trips parsed decimal text and large counters', () => {
    const values = Float64Array.from(['23.47', '0.001', '1e-9', '-12.5', '99.99', '100', '0'], Number);
    const buf = roundTrip(regularTs(values.length), values);
    assert.equal(readChunkHeader(buf).encoding === 'xor', false);
    const counter = Float64Array.from({ length: 100 }, (_, i) => 2 ** 49 + i * 12_345);
    roundTrip(regularTs(100), counter);
    const huge = Float64Array.from({ length: 50 }, (_, i) => 2 ** 60 + i * 4096);
    roundTrip(regularTs(50), huge);
  });

  it('accepts irregular and equal timestamps and rejects bad ones', () => {
    const ts = [0, 0, 1, 2 ** 40, 2 ** 40 + 1, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER];
    roundTrip(
      ts,
      Float64Array.from(ts, (_, i) => i * 1.5),
    );
    assert.throws(() => encodeChunk([2, 1], [0, 0]), /must not decrease/);
    assert.throws(() => encodeChunk([1.5], [0]), /non-negative integer/);
    assert.throws(() => encodeChunk([-1], [0]), /non-negative integer/);
    assert.throws(() => encodeChunk([Number.NaN], [0]), /non-negative integer/);
    assert.throws(() => encodeChunk([1, 2], [0]), /2 timestamps but 1 values/);
  });

  it('accepts plain number arrays', () => {
    const out = decodeChunk(encodeChunk([1, 2, 3], [1.25, -0, Number.NEGATIVE_INFINITY]));
    assert.deepEqual(Array.from(out.values), [1.25, -0, Number.NEGATIVE_INFINITY]);
  });

  it('rejects truncated and corrupt input with a RangeError', () => {
    const rand = prng(3);
    const values = Float64Array.from({ length: 200 }, () => rand() * 100);
    const buf = encodeChunk(regularTs(200), values);
    for (let len = 0; len < buf.length; len++) {
      assert.throws(() => decodeChunk(buf.subarray(0, len)), RangeError, `prefix ${len}`);
    }
    const badVersion = buf.slice();
    badVersion[0] = 9;
    assert.throws(() => decodeChunk(badVersion), /unsupported chunk version 9/);
    // Random garbage must never hang or throw anything but RangeError.
    for (let i = 0; i < 500; i++) {
      const junk = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      junk[0] = 1;
      junk[1] = Math.floor(rand() * 3);
      try {
        decodeChunk(junk);
      } catch (err) {
        assert.ok(err instanceof RangeError, String(err));
      }
    }
  });

  it('stores realistic 1 s host metrics in well under 4 bytes per sample', (t) => {
    const rand = prng(2024);
    const n = 3600;
    const regular = regularTs(n);
    const jittered: number[] = [];
    let now = 1_700_000_000_000;
    for (let i = 0; i < n; i++) {
      jittered.push(now);
      now += 1000 + Math.floor(rand() * 7) - 3; // a 1 s timer drifting by a few ms
    }
    const cpu = new Float64Array(n);
    let level = 25;
    for (let i = 0; i < n; i++) {
      level = Math.min(100, Math.max(0, level + (rand() - 0.5) * 2));
      cpu[i] = Math.round((level + (rand() - 0.5) * 3) * 100) / 100;
    }
    const counter = new Float64Array(n);
    let total = 123_456_789;
    for (let i = 0; i < n; i++) {
      total += 800 + Math.floor(rand() * 400);
      counter[i] = total;
    }
    const memory = new Float64Array(n);
    let used = 4_000_000_000;
    for (let i = 0; i < n; i++) {
      if (rand() < 0.2) used += Math.floor((rand() - 0.5) * 2_000_000) * 4096;
      memory[i] = used;
    }
    const results: Record<string, number> = {};
    for (const [name, values] of [
      ['cpu percent, 2 decimals', cpu],
      ['counter', counter],
      ['memory bytes', memory],
    ] as const) {
      for (const [tsName, ts] of [
        ['regular ts', regular],
        ['jittered ts', jittered],
      ] as const) {
        const bytes = roundTrip(ts, values).length;
        results[`${name}, ${tsName}`] = bytes / n;
      }
    }
    for (const [key, perSample] of Object.entries(results)) {
      t.diagnostic(`${key}: ${perSample.toFixed(3)} bytes/sample`);
      assert.ok(perSample < 4, `${key}: ${perSample} bytes/sample`);
    }
    assert.ok(results['cpu percent, 2 decimals, regular ts'] < 2.5);
  });
});
