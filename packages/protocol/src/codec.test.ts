/**
 * @module codec.test
 * JSON and MessagePack round trips of every frame type, and decoder hardening: random and truncated bytes, deep
 * nesting, huge strings, prototype pollution and exotic MessagePack types. Fuzz loops use a seeded PRNG so a failure
 * reproduces; each is bounded to a few thousand iterations.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Packr } from 'msgpackr';
import {
  type Codec,
  codecFor,
  codecForSubprotocol,
  DecodeError,
  exceedsDepth,
  jsonCodec,
  MAX_DEPTH,
  msgpackCodec,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  safeJsonParse,
} from './codec.js';
import { isServerFrame, PROTOCOL_VERSION, validateClientFrame } from './frames.js';

const CODECS: readonly Codec[] = [jsonCodec, msgpackCodec];

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLIENT_FRAMES: readonly Record<string, unknown>[] = [
  {
    op: 'subscribe',
    id: 1,
    channels: ['metrics.>', 'alerts'],
    filter: { kinds: ['alert'], ids: ['a1'], min_severity: 'warning', states: ['firing'], labels: { env: 'prod' } },
    recover: { alerts: { epoch: 'e-1', offset: 41 } },
    snapshot: false,
    mode: 'latest',
  },
  { op: 'subscribe', channels: ['system.status'] },
  { op: 'unsubscribe', id: 'u', channels: ['alerts'] },
  { op: 'publish', id: 2, channel: 'app.deploys', kind: 'deploy', data: { sha: 'abc', n: 1.5, ok: true, x: null } },
  { op: 'publish', channel: 'app.big', data: { ts: 1_700_000_000_123, neg: -5_000_000_000, list: [1, 'b', [3]] } },
  { op: 'call', id: 3, method: 'alerts.ack', params: { id: 'a1', by: 'ops' } },
  { op: 'call', method: 'stats' },
  { op: 'auth', id: 4, token: 'eyJ.x.y' },
  { op: 'ping', id: 'p' },
  { op: 'ping' },
];

const SERVER_FRAMES: readonly Record<string, unknown>[] = [
  {
    type: 'welcome',
    session: 's-1',
    node: 'n-1',
    protocol: PROTOCOL_VERSION,
    server_time: 1_700_000_000_000,
    heartbeat: { interval_ms: 25_000, timeout_ms: 10_000 },
    limits: { max_payload: 1_048_576, max_subscriptions: 1024 },
  },
  {
    type: 'reply',
    id: 1,
    ok: true,
    result: { subscriptions: [{ channel: 'alerts', epoch: 'e-1', offset: 42, recovered: true }] },
  },
  {
    type: 'reply',
    id: 'x',
    ok: false,
    error: { code: 'bad_request', message: 'subscribe: /channels Expected array', details: { path: '/channels' } },
  },
  {
    type: 'event',
    channel: 'metrics.app.http.latency_ms',
    offset: 7,
    ts: 1_700_000_000_001,
    kind: 'metric_update',
    data: { metric: 'app.http.latency_ms', ts: 1_700_000_000_001, value: 12.25, labels: { route: '/api' } },
  },
  { type: 'snapshot', channel: 'system.status', offset: 3, data: { status: 'ok', uptime_s: 12, cpu: 0.5 } },
  { type: 'gap', channel: 'alerts', from: 10, to: 20, reason: 'slow_consumer' },
  { type: 'pong', id: 9, ts: 1_700_000_000_002 },
  { type: 'error', error: { code: 'bad_request', message: 'Invalid JSON' } },
  { type: 'closing', code: 1001, reason: 'server shutdown', reconnect: true, retry_after_ms: 500 },
];

/**
 * Invariants of any successfully decoded value: plain objects only (arrays, bytes and dates aside), no `__proto__` own
 * key, no bigint, re-encodable as JSON, Object.prototype untouched, and frame validation does not throw.
 */
function assertSafe(value: unknown): void {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    assert.notEqual(typeof v, 'bigint');
    assert.notEqual(typeof v, 'function');
    assert.notEqual(typeof v, 'symbol');
    if (v === null || typeof v !== 'object') continue;
    assert.ok(++seen < 1_000_000, 'cycle or runaway structure');
    if (Array.isArray(v)) {
      assert.equal(Object.getPrototypeOf(v), Array.prototype);
      stack.push(...v);
    } else if (v instanceof Uint8Array || v instanceof Date) {
      // MessagePack bin and timestamp types
    } else {
      assert.equal(Object.getPrototypeOf(v), Object.prototype, 'decoded object with a foreign prototype');
      assert.equal(Object.hasOwn(v, '__proto__'), false, 'own __proto__ key');
      for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  assert.doesNotThrow(() => JSON.stringify(value));
  assert.doesNotThrow(() => validateClientFrame(value));
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
}

/** Decodes; returns the value, or undefined after checking that the only failure is a DecodeError. */
function tryDecode(codec: Codec, data: Buffer | string): unknown {
  try {
    const value = codec.decode(data);
    assertSafe(value);
    return value;
  } catch (err) {
    assert.ok(
      err instanceof DecodeError,
      `expected DecodeError, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
    assert.equal(err.name, 'DecodeError');
    assert.ok(!(err instanceof RangeError));
    return undefined;
  }
}

function assertDecodeError(codec: Codec, data: Buffer | string): DecodeError {
  let caught: unknown;
  try {
    codec.decode(data);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DecodeError, `expected DecodeError, got ${String(caught)}`);
  assert.ok(!(caught instanceof RangeError));
  return caught;
}

function nest(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

/** A MessagePack map with the given raw string keys, built by hand so no encoder can rename a key. */
function mpMap(entries: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80 | entries.length])];
  for (const [k, v] of entries) {
    const key = Buffer.from(k, 'utf8');
    parts.push(Buffer.from([0xa0 | key.length]), key, v);
  }
  return Buffer.concat(parts);
}

// Every test ends with Object.prototype clean: a leak in one test must not hide behind another.
afterEach(() => {
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
});

describe('codec selection', () => {
  test('codecFor and codecForSubprotocol', () => {
    assert.equal(codecFor('json'), jsonCodec);
    assert.equal(codecFor('msgpack'), msgpackCodec);
    assert.equal(codecForSubprotocol(SUBPROTOCOL_MSGPACK), msgpackCodec);
    assert.equal(codecForSubprotocol(SUBPROTOCOL_JSON), jsonCodec);
    assert.equal(codecForSubprotocol(undefined), jsonCodec);
    assert.equal(codecForSubprotocol('vigil.v2.cbor'), jsonCodec);
    assert.equal(jsonCodec.binary, false);
    assert.equal(msgpackCodec.binary, true);
    assert.equal(jsonCodec.subprotocol, 'vigil.v1.json');
    assert.equal(msgpackCodec.subprotocol, 'vigil.v1.msgpack');
  });
});

for (const codec of CODECS) {
  describe(`${codec.encoding} round trips`, () => {
    for (const frame of CLIENT_FRAMES) {
      test(`client ${frame.op}${frame.id === undefined ? '' : ` #${String(frame.id)}`}`, () => {
        const decoded = codec.decode(codec.encode(frame));
        assert.deepEqual(decoded, frame);
        assertSafe(decoded);
        const parsed = validateClientFrame(decoded);
        assert.equal(parsed.ok, true, parsed.ok ? '' : parsed.message);
      });
    }
    for (const frame of SERVER_FRAMES) {
      test(`server ${String(frame.type)}${frame.ok === false ? ' (error)' : ''}`, () => {
        const decoded = codec.decode(codec.encode(frame));
        assert.deepEqual(decoded, frame);
        assertSafe(decoded);
        assert.equal(isServerFrame(decoded), true);
      });
    }

    test('unicode, empty containers and edge numbers', () => {
      const value = {
        s: 'héllo wörld ✓ 🔥 \u0000 "quoted" \\ /',
        empty: { a: [], o: {} },
        nums: [0, -0.5, 1e-300, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), Number.MAX_VALUE],
        bools: [true, false, null],
      };
      assert.deepEqual(codec.decode(codec.encode(value)), value);
    });

    test(`nesting: ${MAX_DEPTH} levels pass, ${MAX_DEPTH + 1} fail`, () => {
      const ok = nest(MAX_DEPTH);
      assert.equal(exceedsDepth(ok), false);
      assert.deepEqual(codec.decode(codec.encode(ok)), ok);
      const tooDeep = nest(MAX_DEPTH + 1);
      assert.equal(exceedsDepth(tooDeep), true);
      assert.match(assertDecodeError(codec, codec.encode(tooDeep)).message, /Nesting deeper than/);
    });

    test('decodes both strings and buffers', () => {
      const frame = { op: 'ping', id: 1 };
      const bytes = codec.encode(frame);
      assert.deepEqual(codec.decode(bytes), frame);
      if (codec === jsonCodec) assert.deepEqual(codec.decode(bytes.toString('utf8')), frame);
    });

    test('huge strings', () => {
      const big = 'x'.repeat(8 * 1024 * 1024);
      const decoded = codec.decode(codec.encode({ op: 'publish', channel: 'a', data: big })) as { data: string };
      assert.equal(decoded.data.length, big.length);
      const keys = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`.repeat(20), i]));
      assert.deepEqual(codec.decode(codec.encode(keys)), keys);
    });

    test('empty input is a DecodeError', () => {
      assertDecodeError(codec, Buffer.alloc(0));
    });

    test('every truncation of every frame decodes safely or throws DecodeError', () => {
      for (const frame of [...CLIENT_FRAMES, ...SERVER_FRAMES]) {
        const bytes = codec.encode(frame);
        for (let n = 0; n < bytes.length; n++) {
          const value = tryDecode(codec, bytes.subarray(0, n));
          // A strict prefix is never the whole frame back.
          if (value !== undefined) assert.notDeepEqual(value, frame);
        }
      }
    });

    test('fuzz: random bytes', () => {
      const rnd = prng(codec === jsonCodec ? 1 : 2);
      const probe = codec.encode({ op: 'ping', id: 1 });
      for (let i = 0; i < 3000; i++) {
        const bytes = Buffer.alloc(Math.floor(rnd() * 64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
        tryDecode(codec, bytes);
        // A failed decode must not leave the decoder in a bad state.
        if (i % 100 === 0) assert.deepEqual(codec.decode(probe), { op: 'ping', id: 1 });
      }
    });

    test('fuzz: mutated frames', () => {
      const rnd = prng(codec === jsonCodec ? 3 : 4);
      const encoded = [...CLIENT_FRAMES, ...SERVER_FRAMES].map((f) => codec.encode(f));
      const probe = codec.encode({ op: 'ping', id: 1 });
      for (let i = 0; i < 3000; i++) {
        const bytes = Buffer.from(encoded[Math.floor(rnd() * encoded.length)]!);
        const edits = 1 + Math.floor(rnd() * 4);
        for (let e = 0; e < edits; e++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
        tryDecode(codec, bytes);
        if (i % 100 === 0) assert.deepEqual(codec.decode(probe), { op: 'ping', id: 1 });
      }
    });
  });
}

describe('JSON hardening', () => {
  test('fuzz: random JSON-ish token soup', () => {
    const rnd = prng(5);
    const tokens = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '"a"',
      '"__proto__"',
      '"constructor"',
      '"prototype"',
      '1',
      '-',
      '.5',
      'e9',
      'true',
      'null',
      ' ',
      '\\u005f',
      '"\\u005f_proto__"',
      '"\\ud800"',
      '\\',
      'op',
      '"op":"ping"',
    ];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 40);
      for (let j = 0; j < n; j++) s += tokens[Math.floor(rnd() * tokens.length)];
      tryDecode(jsonCodec, s);
    }
  });

  test('100,000 levels of `[` throw DecodeError, not RangeError', () => {
    assertDecodeError(jsonCodec, '['.repeat(100_000));
    assertDecodeError(jsonCodec, '['.repeat(100_000) + ']'.repeat(100_000));
    assertDecodeError(jsonCodec, '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000));
    // These take the reviver path (recursive inside V8).
    assertDecodeError(jsonCodec, '{"__proto__":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
    assertDecodeError(jsonCodec, '["\\u0041",' + '['.repeat(100_000) + ']'.repeat(100_000) + ']');
    assertDecodeError(jsonCodec, '{"constructor":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
  });

  test('{"__proto__":{"polluted":1}} never pollutes', () => {
    for (const text of [
      '{"__proto__":{"polluted":1}}',
      '{"a":{"__proto__":{"polluted":1}}}',
      '[{"__proto__":{"polluted":1}}]',
      '{"op":"publish","channel":"a","data":{"__proto__":{"polluted":1}}}',
    ]) {
      const value = jsonCodec.decode(text);
      assertSafe(value);
      assert.equal(({} as { polluted?: unknown }).polluted, undefined);
      // Merging the result into a fresh object must not change its prototype either.
      const merged = Object.assign({}, value) as { polluted?: unknown };
      assert.equal(merged.polluted, undefined);
      assert.equal(JSON.stringify(value).includes('polluted'), false, text);
    }
  });

  test('a `__proto__` key spelled with \\u escapes is dropped too', () => {
    for (const text of [
      '{"\\u005f_proto__":{"polluted":1}}',
      '{"__proto\\u005f_":{"polluted":1}}',
      '{"\\u005F\\u005F\\u0070roto__":{"polluted":1}}',
      '{"\\u0063onstructor":{"prototype":{"polluted":1}}}',
    ]) {
      const value = jsonCodec.decode(text);
      assertSafe(value);
      assert.deepEqual(value, {});
      assert.equal((Object.assign({}, value) as { polluted?: unknown }).polluted, undefined, text);
    }
  });

  test('constructor.prototype payloads are dropped, other constructor keys kept', () => {
    const value = jsonCodec.decode('{"constructor":{"prototype":{"polluted":1}},"a":1}');
    assert.deepEqual(value, { a: 1 });
    assert.deepEqual(jsonCodec.decode('{"constructor":"x"}'), { constructor: 'x' });
    assert.deepEqual(jsonCodec.decode('{"constructor":{"name":"x"}}'), { constructor: { name: 'x' } });
    assert.deepEqual(safeJsonParse('{"proto":1,"\\u0041":2}'), { proto: 1, A: 2 });
  });

  test('invalid JSON is a DecodeError', () => {
    for (const text of ['', '{', '}', '{"a":}', "{'a':1}", 'undefined', 'NaN', '{"a":1,}', '\u0000', '[1,]']) {
      assertDecodeError(jsonCodec, text);
    }
  });
});

describe('MessagePack hardening', () => {
  test('100,000 levels of nested arrays and maps throw DecodeError, not RangeError', () => {
    assertDecodeError(msgpackCodec, Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x01])]));
    const level = Buffer.from([0x81, 0xa1, 0x61]);
    assertDecodeError(msgpackCodec, Buffer.concat([...Array.from({ length: 100_000 }, () => level), Buffer.from([1])]));
    assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode({ op: 'ping' })), { op: 'ping' });
  });

  test('a `__proto__` key built by hand never pollutes', () => {
    const inner = mpMap([['polluted', Buffer.from([0x01])]]);
    for (const bytes of [
      mpMap([['__proto__', inner]]),
      mpMap([['a', mpMap([['__proto__', inner]])]]),
      Buffer.concat([Buffer.from([0x91]), mpMap([['__proto__', inner]])]),
    ]) {
      const value = msgpackCodec.decode(bytes);
      assertSafe(value);
      assert.equal(JSON.stringify(value).includes('polluted'), false);
      assert.equal((Object.assign({}, value) as { polluted?: unknown }).polluted, undefined);
    }
  });

  test('a real `__proto__` own key packed by msgpackr never pollutes', () => {
    const evil = {};
    Object.defineProperty(evil, '__proto__', {
      value: { polluted: 1 },
      enumerable: true,
      configurable: true,
      writable: true,
    });
    assert.deepEqual(Object.keys(evil), ['__proto__']);
    const bytes = new Packr({ useRecords: false }).pack(evil);
    assert.ok(bytes.includes(Buffer.from('__proto__')), 'the key really is __proto__ on the wire');
    const value = msgpackCodec.decode(bytes);
    assertSafe(value);
    assert.deepEqual(value, {});
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });

  test('constructor.prototype payloads are dropped, as in JSON', () => {
    const bytes = new Packr({ useRecords: false }).pack({ constructor: { prototype: { polluted: 1 } }, a: 1 });
    assert.deepEqual(msgpackCodec.decode(bytes), { a: 1 });
    assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode({ constructor: 'x' })), { constructor: 'x' });
  });

  test('64-bit integers decode as numbers, as JSON would', () => {
    // uint64 1_700_000_000_000 and int64 -2, as Python's or Go's encoders send large integers.
    const ts = Buffer.from([0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]);
    assert.equal(msgpackCodec.decode(ts), 1_700_000_000_000);
    assert.equal(msgpackCodec.decode(Buffer.from([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), -2);
    const frame = Buffer.concat([
      mpMap([
        ['op', Buffer.from([0xa9, ...Buffer.from('subscribe')])],
        ['channels', Buffer.from([0x91, 0xa1, 0x61])],
        [
          'recover',
          mpMap([
            [
              'a',
              mpMap([
                ['epoch', Buffer.from([0xa1, 0x65])],
                ['offset', ts],
              ]),
            ],
          ]),
        ],
      ]),
    ]);
    const decoded = msgpackCodec.decode(frame);
    assertSafe(decoded);
    assert.equal(validateClientFrame(decoded).ok, true);
  });

  test('the bigint extension decodes as a number', () => {
    assert.equal(msgpackCodec.decode(Buffer.from([0xd4, 0x42, 0x05])), 5);
    assertSafe(msgpackCodec.decode(mpMap([['n', Buffer.from([0xd4, 0x42, 0x05])]])));
  });

  test('structured-clone references (cycles) are rejected', () => {
    // id extension 0x69 around an array that points back to itself with the pointer extension 0x70.
    const cyclic = Buffer.from([0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]);
    assertDecodeError(msgpackCodec, cyclic);
    assertDecodeError(msgpackCodec, Buffer.from([0xd6, 0x70, 0, 0, 0, 1]));
  });

  test('exotic extension types come out as plain data', () => {
    const samples: Buffer[] = [
      Buffer.from([0xd4, 0x73, 0x00, 0x91, 0x01]), // Set
      Buffer.from([0xc1]), // never-used byte
      Buffer.concat([
        Buffer.from([0xd4, 0x65, 0x00]),
        Buffer.from([0x92, 0xa5]),
        Buffer.from('Error'),
        Buffer.from([0xa1, 0x6d]),
      ]), // Error
      Buffer.concat([Buffer.from([0xd4, 0x78, 0x00, 0x92, 0xa2]), Buffer.from('a+'), Buffer.from([0xa1, 0x67])]), // RegExp
      Buffer.from([0xc7, 0x09, 0x74, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]), // Float64Array
      Buffer.from([0xc7, 0x09, 0x74, 0x09, 1, 2, 3, 4, 5, 6, 7, 8]), // BigInt64Array
      Buffer.from([0xc7, 0x05, 0x74, 0x10, 1, 2, 3, 4]), // ArrayBuffer
      Buffer.from([0xd6, 0xff, 0x65, 0x53, 0xf1, 0x00]), // timestamp 32
      Buffer.from([0xc4, 0x03, 1, 2, 3]), // bin 8
    ];
    for (const bytes of samples) tryDecode(msgpackCodec, Buffer.concat([mpMap([['v', bytes]])]));
  });

  test('trailing bytes are a DecodeError', () => {
    assertDecodeError(msgpackCodec, Buffer.from([0x01, 0x02]));
  });
});

describe('exceedsDepth', () => {
  test('is iterative: a 100,000-deep structure does not overflow the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(exceedsDepth(deep), true);
    assert.equal(exceedsDepth(deep, 200_000), false);
  });

  test('wide but shallow structures pass', () => {
    assert.equal(exceedsDepth(Array.from({ length: 100_000 }, (_, i) => ({ i }))), false);
    assert.equal(exceedsDepth({ a: { b: { c: 1 } } }, 3), false);
    assert.equal(exceedsDepth({ a: { b: { c: {} } } }, 3), true);
    assert.equal(exceedsDepth(null), false);
    assert.equal(exceedsDepth('x'), false);
  });
});
