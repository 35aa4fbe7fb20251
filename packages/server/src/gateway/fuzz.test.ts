/**
 * @module fuzz.test
 * Hostile input on a real socket: random bytes, deep nesting, huge strings, wrong types in every field, and
 * `__proto__`/`constructor` keys, over JSON and MessagePack. The hub must answer with errors, keep the connection
 * and itself alive, and never pollute prototypes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { type RunningHub, sleep, startHub, TestClient } from '../testing/hub-fixture.js';
import { prng } from '../testing/seeded-random.js';

const WRONG = [null, true, 0, -1, 1.5, 'x', '', [], {}, [1, 'a'], { a: 1 }, 1e308, '\u0000'];
const OPS = {
  subscribe: ['channels', 'filter', 'recover', 'snapshot', 'mode', 'id'],
  unsubscribe: ['channels', 'id'],
  publish: ['channel', 'data', 'kind', 'id'],
  call: ['method', 'params', 'id'],
  auth: ['token', 'id'],
  ping: ['id'],
};

function assertClean(): void {
  const probe: Record<string, unknown> = {};
  assert.equal(probe.polluted, undefined, 'Object.prototype was polluted');
  assert.equal(Object.getPrototypeOf(probe), Object.prototype);
  assert.equal(Object.keys(Object.prototype).length, 0);
}

describe('fuzzed frames', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ gateway: { max_payload: 256 * 1024, rate_limit: { messages_per_s: 1e6, burst: 100_000 } } });
  });
  after(() => h.stop());

  async function alive(c: TestClient): Promise<void> {
    const r = await c.request({ op: 'call', method: 'stats' }, 10_000);
    assert.equal(r.ok, true);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
  }

  test('random bytes, as text and binary', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const rand = prng(1);
    for (let i = 0; i < 1500; i++) {
      const len = Math.floor(rand() * 300);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      // ws rejects invalid UTF-8 in text frames by closing (1007), as RFC 6455 requires; send text only when valid.
      const text = buf.toString('utf8');
      if (i % 2 === 0 && Buffer.from(text).equals(buf)) c.sendRaw(text);
      else c.sendRaw(buf, true);
    }
    await alive(c);
    assert.ok(c.frames.filter((f) => f.type === 'error').length > 100, 'errors were reported');
    c.close();
  });

  test('deep nesting, huge strings and wrong types in every field', async () => {
    const c = await TestClient.connect(h.wsUrl);
    c.sendRaw(`{"op":"publish","channel":"f.deep","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    c.sendRaw(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`);
    const huge = await c.request({ op: 'publish', channel: 'x'.repeat(200_000), data: 1 });
    assert.equal(huge.ok, false);
    const big = await c.request({ op: 'call', method: 'y'.repeat(200_000) });
    assert.equal(big.ok, false);
    let n = 0;
    for (const [op, fields] of Object.entries(OPS)) {
      for (const field of fields) {
        for (const wrong of WRONG) {
          const frame: Record<string, unknown> = {
            op,
            channels: ['f.ok'],
            channel: 'f.ok',
            method: 'stats',
            token: 't',
            data: 1,
          };
          frame[field] = wrong;
          c.sendRaw(JSON.stringify(frame));
          n++;
        }
      }
    }
    assert.ok(n > 200);
    await alive(c);
    c.close();
  });

  test('__proto__ and constructor keys never pollute prototypes (JSON)', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const sub = await TestClient.connect(h.wsUrl);
    await sub.request({ op: 'subscribe', channels: ['f.proto'] });
    const payloads = [
      '{"op":"publish","channel":"f.proto","data":{"__proto__":{"polluted":1}},"id":1}',
      '{"__proto__":{"polluted":1},"op":"ping","id":2}',
      '{"op":"subscribe","channels":["f.p2"],"recover":{"__proto__":{"epoch":"e","offset":1}},"id":3}',
      '{"op":"subscribe","channels":["f.p3"],"filter":{"labels":{"__proto__":"x","constructor":"y"}},"id":4}',
      '{"op":"publish","channel":"f.proto","data":{"constructor":{"prototype":{"polluted":1}}},"id":5}',
      '{"op":"call","method":"channels.history","params":{"__proto__":{"channel":"f.proto"}},"id":6}',
      '{"op":"publish","channel":"f.proto","data":{"\\u005f_proto__":{"polluted":1}},"id":7}',
    ];
    for (const p of payloads) c.sendRaw(p);
    await c.next((f) => f.type === 'reply' && f.id === 7);
    await sleep(50);
    assertClean();
    for (const ev of sub.events('f.proto')) {
      const data = ev.data as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(data), Object.prototype);
      assert.equal(Object.hasOwn(data, '__proto__'), false);
    }
    await alive(c);
    c.close();
    sub.close();
  });

  test('__proto__ keys and odd types in MessagePack frames', async () => {
    const c = await TestClient.connect(h.wsUrl, SUBPROTOCOL_MSGPACK);
    const packr = new Packr({ useRecords: false });
    const evil: Record<string, unknown> = { op: 'publish', channel: 'f.mp', id: 1 };
    Object.defineProperty(evil, 'data', { value: {}, enumerable: true });
    Object.defineProperty(evil.data as object, '__proto__', { value: { polluted: 1 }, enumerable: true });
    c.sendRaw(packr.pack(evil), true);
    c.sendRaw(packr.pack({ op: 'publish', channel: 'f.mp', data: new Date(), id: 2 }), true);
    c.sendRaw(packr.pack({ op: 'publish', channel: 'f.mp', data: 2n ** 60n, id: 3 }), true);
    c.sendRaw(packr.pack([1, 2, 3]), true);
    c.sendRaw(Buffer.from([0xc1, 0xff, 0x00]), true);
    await c.next((f) => f.type === 'reply' && f.id === 3);
    assertClean();
    await alive(c);
    c.close();
  });
});
