/** @module storage/chunk-codec.test — bit-exact round trips, compactness and robustness of the v2 chunk codec. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../testing/seeded-random.js';
import { BitReader, BitWriter } from './bit-stream.js';
import { decodeRollups, decodeSamples, encodeRollups, encodeSamples, type RollupColumns } from './chunk-codec.js';
import { encodeChunk as encodeV1 } from './gorilla.js';
import { RICE_BLOCK, readRice, unzigzag, writeRice, zigzag } from './rice.js';

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
    if (a[i] !== e[i])
      assert.fail(`${context} value ${i}: got 0x${a[i].toString(16)}, expected 0x${e[i].toString(16)}`);
  }
}

function roundTrip(ts: number[], values: Float64Array, context = ''): Uint8Array {
  const buf = encodeSamples(ts, values);
  const out = decodeSamples(buf);
  assert.deepEqual(out.ts, ts, `timestamps ${context}`);
  assertBitsEqual(out.values, values, context);
  return buf;
}

function regularTs(count: number, start = 1_700_000_000_000, step = 1000): number[] {
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/** The value column's encoding byte (0 xor, 1 decimal) of a v2 samples chunk with at least 2 samples. */
function columnEncoding(buf: Uint8Array, ts: number[]): number {
  const r = new BitReader(buf);
  r.readBits(16);
  r.readVarUint();
  r.readVarUint();
  r.readVarUint();
  if (ts.length > 2) readRice(r, new Float64Array(ts.length - 2), 0, ts.length - 2);
  return r.readBits(8);
}

/** The three data sets of the ingest bench against VictoriaMetrics, one series each. */
function dataset(kind: 'walk' | 'counter' | 'noisy', seed: number, n: number): Float64Array {
  const rand = prng(seed);
  const out = new Float64Array(n);
  if (kind === 'walk') {
    let v = 10 + rand() * 80;
    for (let i = 0; i < n; i++) {
      v = Math.min(100, Math.max(0, v + (rand() - 0.5) * 2));
      out[i] = Math.round(v * 100) / 100;
    }
  } else if (kind === 'counter') {
    let v = Math.floor(rand() * 1e9);
    const rate = Math.exp(rand() * Math.log(100_000));
    for (let i = 0; i < n; i++) {
      v += Math.floor(rate * (0.5 + rand()));
      out[i] = v;
    }
  } else {
    const level = 20 + rand() * 60;
    for (let i = 0; i < n; i++) out[i] = level + 5 * Math.sin(i / 300) + (rand() - 0.5);
  }
  return out;
}

const EDGE_BITS = [
  0x7ff8000000000000n, // canonical quiet NaN
  0xfff8000000000000n, // negative quiet NaN
  0x7ff0000000000001n, // signalling NaN, payload 1
  0x7ff4dead0000beefn, // signalling NaN with a payload
  0xffffffffffffffffn, // all-ones NaN
  0x7ff0000000000000n, // +Infinity
  0xfff0000000000000n, // -Infinity
  0x0000000000000000n, // +0
  0x8000000000000000n, // -0
  0x0000000000000001n, // smallest subnormal
  0x800fffffffffffffn, // largest negative subnormal
  0x0010000000000000n, // smallest normal
  0x7fefffffffffffffn, // largest finite
  0xffefffffffffffffn, // most negative finite
  0x3ff0000000000000n, // 1
  0x3fb999999999999an, // 0.1
  0x3fd3333333333334n, // 0.1 + 0.2
];

describe('bit stream: unary runs', () => {
  it('round-trips runs of ones of any length, capped reads and mixed widths', () => {
    const rand = prng(11);
    const w = new BitWriter(1);
    const runs: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rand() * (rand() < 0.1 ? 100 : 30));
      runs.push(n);
      w.writeOnes(n);
      w.writeBits(0, 1);
      w.writeBits(i & 0x1fff, 13);
    }
    const r = new BitReader(w.finish());
    for (let i = 0; i < runs.length; i++) {
      assert.equal(r.readOnes(1000), runs[i], `run ${i}`);
      assert.equal(r.readBits(13), i & 0x1fff);
    }
    const capped = new BitWriter();
    capped.writeOnes(40);
    capped.writeBits(0, 1);
    const c = new BitReader(capped.finish());
    assert.equal(c.readOnes(32), 32, 'stops at the cap without a terminating zero');
    assert.equal(c.readOnes(32), 8);
  });
});

describe('rice blocks', () => {
  it('round-trips zero blocks, small and huge integers (escapes) and partial blocks', () => {
    const rand = prng(5);
    for (let round = 0; round < 100; round++) {
      const n = Math.floor(rand() * 3 * RICE_BLOCK);
      const zs = new Float64Array(n);
      const style = round % 4;
      for (let i = 0; i < n; i++) {
        if (style === 0) zs[i] = 0;
        else if (style === 1) zs[i] = Math.floor(rand() * 2 ** Math.floor(rand() * 20));
        else if (style === 2) zs[i] = rand() < 0.02 ? Math.floor(rand() * 2 ** 53) : Math.floor(rand() * 8);
        else zs[i] = Math.floor(rand() * 2 ** 53);
      }
      const w = new BitWriter();
      writeRice(w, zs, 0, n);
      w.writeBits(0x2a, 6);
      const r = new BitReader(w.finish());
      const out = new Float64Array(n);
      readRice(r, out, 0, n);
      assert.deepEqual(Array.from(out), Array.from(zs), `round ${round}`);
      assert.equal(r.readBits(6), 0x2a, 'the stream ends where it should');
    }
  });

  it('zigzag maps signed integers one to one, up to 2^52', () => {
    for (const x of [0, -1, 1, -2, 2, 2 ** 31, -(2 ** 31), 2 ** 52 - 1, -(2 ** 52)]) {
      assert.ok(zigzag(x) >= 0);
      assert.equal(unzigzag(zigzag(x)), x);
    }
  });
});

describe('chunk codec v2: samples', () => {
  it('handles empty, single and two-sample chunks', () => {
    roundTrip([], new Float64Array(0));
    for (const v of [0, 42, 0.1, Number.NaN, -0, Number.POSITIVE_INFINITY, 2 ** 60]) {
      roundTrip([1_700_000_000_123], Float64Array.of(v));
      roundTrip([1_700_000_000_123, 1_700_000_001_123], Float64Array.of(v, 1));
    }
    roundTrip([0], Float64Array.of(1));
    roundTrip([Number.MAX_SAFE_INTEGER], Float64Array.of(1));
  });

  it('keeps edge doubles bit-exact, NaN payloads included, in every ordered pair', () => {
    roundTrip(regularTs(EDGE_BITS.length), fromBits(EDGE_BITS), 'edge');
    for (let i = 0; i < EDGE_BITS.length; i++) {
      for (let j = 0; j < EDGE_BITS.length; j++) {
        roundTrip([1, 2, 3], fromBits([EDGE_BITS[i], EDGE_BITS[j], EDGE_BITS[i]]), `pair ${i},${j}`);
      }
    }
  });

  it('round-trips random bit patterns and random doubles with irregular timestamps (property test)', () => {
    const rand = prng(42);
    for (let round = 0; round < 300; round++) {
      const count = Math.floor(rand() * 600);
      const bits: bigint[] = [];
      const style = round % 3;
      for (let i = 0; i < count; i++) {
        if (style === 0) {
          bits.push((BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32)));
        } else {
          const f = new Float64Array([(rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20)]);
          if (style === 2 && rand() < 0.5) f[0] = Math.round(f[0] * 1000) / 1000;
          bits.push(new BigUint64Array(f.buffer)[0]);
        }
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

  it('round-trips decimals at every scale, integers near the limit, and mixes that need residuals or XOR', () => {
    const rand = prng(7);
    for (let round = 0; round < 300; round++) {
      const count = 1 + Math.floor(rand() * 500);
      const p = 10 ** Math.floor(rand() * 10);
      const magnitude = 10 ** Math.floor(rand() * 8);
      const values = new Float64Array(count);
      let v = (rand() - 0.5) * magnitude;
      for (let i = 0; i < count; i++) {
        v += (rand() - 0.5) * magnitude * 0.01;
        values[i] = Math.round(v * p) / p;
      }
      if (round % 5 === 0) values[Math.floor(rand() * count)] = round % 10 === 0 ? Number.NaN : -0;
      if (round % 7 === 0) values[Math.floor(rand() * count)] = 0.1 + 0.2;
      if (round % 11 === 0) values[Math.floor(rand() * count)] = Number.NEGATIVE_INFINITY;
      roundTrip(regularTs(count), values, `decimal round ${round}`);
    }
    const limits = Float64Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (2 ** 50 - i * 7));
    roundTrip(regularTs(300), limits, 'integers at ±2^50');
    const beyond = Float64Array.from({ length: 300 }, (_, i) => 2 ** 60 + i * 4096);
    roundTrip(regularTs(300), beyond, 'integers beyond 2^53');
  });

  it('uses the decimal path for sums of decimals (an ulp or two off) and XOR for noise', () => {
    const rand = prng(9);
    const sums = new Float64Array(500);
    let acc = 0;
    for (let i = 0; i < sums.length; i++) {
      acc += Math.round(rand() * 10_000) / 100;
      sums[i] = acc;
    }
    const ts = regularTs(sums.length);
    const buf = roundTrip(ts, sums, 'running sums');
    assert.equal(columnEncoding(buf, ts), 1, 'decimal with residuals');
    const noisy = dataset('noisy', 3, 500);
    assert.equal(columnEncoding(roundTrip(ts, noisy, 'noisy'), ts), 0, 'xor');
    const walk = dataset('walk', 3, 500);
    assert.equal(columnEncoding(roundTrip(ts, walk, 'walk'), ts), 1, 'decimal');
  });

  it('accepts irregular and equal timestamps and rejects bad ones', () => {
    const ts = [0, 0, 1, 2 ** 40, 2 ** 40 + 1, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER];
    roundTrip(
      ts,
      Float64Array.from(ts, (_, i) => i * 1.5),
    );
    assert.throws(() => encodeSamples([2, 1], new Float64Array(2)), /must not decrease/);
    assert.throws(() => encodeSamples([1.5], new Float64Array(1)), /non-negative integer/);
    assert.throws(() => encodeSamples([-1], new Float64Array(1)), /non-negative integer/);
    assert.throws(() => encodeSamples([Number.NaN], new Float64Array(1)), /non-negative integer/);
    assert.throws(() => encodeSamples([1, 2], new Float64Array(1)), /2 timestamps but 1 values/);
  });

  it('reads chunks written in version 1 (storage/gorilla)', () => {
    const values = dataset('walk', 1, 300);
    values[7] = Number.NaN;
    const ts = regularTs(300);
    const out = decodeSamples(encodeV1(ts, values));
    assert.deepEqual(out.ts, ts);
    assertBitsEqual(out.values, values, 'v1');
  });

  it('rejects truncated and corrupt input with a RangeError', () => {
    const rand = prng(3);
    for (const values of [dataset('walk', 4, 300), dataset('noisy', 4, 300), dataset('counter', 4, 300)]) {
      const buf = encodeSamples(regularTs(300), values);
      for (let len = 0; len < buf.length; len++) {
        assert.throws(() => decodeSamples(buf.subarray(0, len)), RangeError, `prefix ${len}`);
      }
    }
    const badVersion = encodeSamples([1], Float64Array.of(1));
    badVersion[0] = 9;
    assert.throws(() => decodeSamples(badVersion), /unsupported version 9/);
    for (let i = 0; i < 2000; i++) {
      const junk = Uint8Array.from({ length: Math.floor(rand() * 96) }, () => Math.floor(rand() * 256));
      junk[0] = 2;
      junk[1] = 0;
      try {
        decodeSamples(junk);
      } catch (err) {
        assert.ok(err instanceof RangeError, String(err));
      }
    }
  });

  it('stores the bench data sets compactly: walk and counter near their entropy, noise as XOR', (t) => {
    const n = 1200;
    const ts = regularTs(n);
    const budget = { walk: 1.15, counter: 1.4, noisy: 7 };
    for (const kind of ['walk', 'counter', 'noisy'] as const) {
      let bytes = 0;
      for (let s = 0; s < 50; s++) bytes += roundTrip(ts, dataset(kind, 100 + s, n), kind).length;
      const perSample = bytes / (50 * n);
      t.diagnostic(`${kind}: ${perSample.toFixed(3)} bytes/sample`);
      assert.ok(perSample < budget[kind], `${kind}: ${perSample} bytes/sample`);
    }
    const jittered = ts.map((x, i) => x + ((i * 7919) % 7) - 3);
    const perSample = roundTrip(jittered, dataset('walk', 1, n)).length / n;
    assert.ok(perSample < 1.75, `walk with a few ms of jitter: ${perSample} bytes/sample`);
  });
});

describe('chunk codec v2: rollups', () => {
  function rollupsOf(ts: number[], values: Float64Array, bucketMs: number): RollupColumns {
    const out = {
      ts: [] as number[],
      min: [] as number[],
      max: [] as number[],
      sum: [] as number[],
      count: [] as number[],
    };
    for (let i = 0; i < ts.length; i++) {
      const b = Math.floor(ts[i] / bucketMs) * bucketMs;
      const k = out.ts.length - 1;
      if (k < 0 || out.ts[k] !== b) {
        out.ts.push(b);
        out.min.push(values[i]);
        out.max.push(values[i]);
        out.sum.push(values[i]);
        out.count.push(1);
      } else {
        out.min[k] = Math.min(out.min[k], values[i]);
        out.max[k] = Math.max(out.max[k], values[i]);
        out.sum[k] += values[i];
        out.count[k]++;
      }
    }
    return {
      ts: out.ts,
      min: Float64Array.from(out.min),
      max: Float64Array.from(out.max),
      sum: Float64Array.from(out.sum),
      count: Float64Array.from(out.count),
    };
  }

  function rollupRoundTrip(c: RollupColumns, context: string): Uint8Array {
    const buf = encodeRollups(c);
    const out = decodeRollups(buf);
    assert.deepEqual(out.ts, c.ts, context);
    for (const col of ['min', 'max', 'sum', 'count'] as const) assertBitsEqual(out[col], c[col], `${context} ${col}`);
    return buf;
  }

  it('round-trips 1 m buckets of each data set bit for bit, in a few bytes per bucket', (t) => {
    const n = 86_400;
    const ts = regularTs(n, Date.UTC(2026, 0, 1));
    for (const kind of ['walk', 'counter', 'noisy'] as const) {
      const c = rollupsOf(ts, dataset(kind, 21, n), 60_000);
      const perBucket = rollupRoundTrip(c, kind).length / c.ts.length;
      t.diagnostic(`${kind}: ${perBucket.toFixed(2)} bytes per 1 m bucket`);
      assert.ok(perBucket < (kind === 'noisy' ? 30 : 12), `${kind}: ${perBucket} bytes per bucket`);
    }
  });

  it('round-trips empty, edge and NaN sums (+Infinity with -Infinity)', () => {
    rollupRoundTrip(
      {
        ts: [],
        min: new Float64Array(0),
        max: new Float64Array(0),
        sum: new Float64Array(0),
        count: new Float64Array(0),
      },
      'empty',
    );
    const edge = fromBits(EDGE_BITS);
    const n = edge.length;
    rollupRoundTrip(
      {
        ts: regularTs(n, 0, 60_000),
        min: edge,
        max: edge.slice().reverse(),
        sum: Float64Array.from(edge, (v, i) => (i % 3 === 0 ? Number.NaN : v)),
        count: Float64Array.from(edge, (_, i) => i + 1),
      },
      'edge',
    );
    assert.throws(
      () =>
        encodeRollups({
          ts: [1, 2],
          min: new Float64Array(2),
          max: new Float64Array(2),
          sum: new Float64Array(1),
          count: new Float64Array(2),
        }),
      RangeError,
    );
    assert.throws(() => decodeRollups(encodeSamples([1], Float64Array.of(1))), /expected kind 1/);
  });
});
