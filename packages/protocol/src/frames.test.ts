/**
 * @module frames.test
 * Client frame validation per op (valid, wrong types, missing fields, unknown ops, id kept for the error reply) and
 * the server frame schema for every frame type in PROTOCOL.md.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { isServerFrame, type ParseResult, PROTOCOL_VERSION, validateClientFrame } from './frames.js';

function ok(value: unknown): void {
  const r = validateClientFrame(value);
  assert.equal(r.ok, true, `expected valid: ${inspect(value)} -> ${r.ok ? '' : r.message}`);
  if (r.ok) assert.equal(r.frame, value);
}

function bad(value: unknown, code: 'bad_request' | 'unknown_op' = 'bad_request'): Extract<ParseResult, { ok: false }> {
  const r = validateClientFrame(value);
  assert.equal(r.ok, false, `expected invalid: ${inspect(value)}`);
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.code, code, r.message);
  assert.equal(typeof r.message, 'string');
  assert.ok(r.message.length > 0 && r.message.length < 1024);
  return r;
}

describe('validateClientFrame: valid frames', () => {
  test('subscribe', () => {
    ok({ op: 'subscribe', channels: ['alerts'] });
    ok({ op: 'subscribe', id: 1, channels: ['metrics.>', 'system.status'] });
    ok({
      op: 'subscribe',
      id: 'sub-1',
      channels: ['alerts', 'incidents'],
      filter: { kinds: ['alert'], ids: ['a1'], min_severity: 'error', states: ['firing'], labels: { env: 'prod' } },
      recover: { alerts: { epoch: 'e1', offset: 10 }, incidents: { epoch: 'e2', offset: 0 } },
      snapshot: false,
      mode: 'latest',
    });
    ok({ op: 'subscribe', channels: ['a'], mode: 'stream', filter: {} });
    ok({ op: 'subscribe', channels: ['a'], future_field: true });
  });

  test('unsubscribe', () => {
    ok({ op: 'unsubscribe', channels: ['alerts'] });
    ok({ op: 'unsubscribe', id: 2, channels: ['a', 'b.*'] });
  });

  test('publish', () => {
    ok({ op: 'publish', channel: 'app.deploys', data: { sha: 'abc' } });
    ok({ op: 'publish', id: 3, channel: 'app.deploys', data: null, kind: 'deploy.started' });
    ok({ op: 'publish', channel: 'app', data: [1, 'two', { three: 3 }] });
    ok({ op: 'publish', channel: 'app', data: 'text', kind: 'message' });
  });

  test('call', () => {
    ok({ op: 'call', method: 'stats' });
    ok({ op: 'call', id: 4, method: 'alerts.ack', params: { id: 'a1', by: 'ops' } });
    ok({ op: 'call', id: 'c', method: 'channels.history', params: { channel: 'alerts', limit: 10 } });
  });

  test('auth', () => {
    ok({ op: 'auth', token: 'eyJhbGciOi.x.y' });
    ok({ op: 'auth', id: 5, token: '' });
  });

  test('ping', () => {
    ok({ op: 'ping' });
    ok({ op: 'ping', id: 6 });
    ok({ op: 'ping', id: 'p' });
    ok({ op: 'ping', id: 0 });
    ok({ op: 'ping', id: -1.5 });
    ok({ op: 'ping', id: 'x'.repeat(128) });
  });
});

describe('validateClientFrame: invalid frames', () => {
  test('subscribe', () => {
    bad({ op: 'subscribe' });
    bad({ op: 'subscribe', channels: 'alerts' });
    bad({ op: 'subscribe', channels: [] });
    bad({ op: 'subscribe', channels: [1] });
    bad({ op: 'subscribe', channels: [null] });
    bad({ op: 'subscribe', channels: ['x'.repeat(513)] });
    bad({ op: 'subscribe', channels: Array.from({ length: 1025 }, (_, i) => `c${i}`) });
    bad({ op: 'subscribe', channels: ['a'], snapshot: 'false' });
    bad({ op: 'subscribe', channels: ['a'], mode: 'fast' });
    bad({ op: 'subscribe', channels: ['a'], filter: 'kinds=alert' });
    bad({ op: 'subscribe', channels: ['a'], filter: { kinds: 'alert' } });
    bad({ op: 'subscribe', channels: ['a'], filter: { min_severity: 'fatal' } });
    bad({ op: 'subscribe', channels: ['a'], filter: { labels: { env: 1 } } });
    bad({ op: 'subscribe', channels: ['a'], filter: { states: [1] } });
    bad({ op: 'subscribe', channels: ['a'], filter: { unknown: true } });
    bad({ op: 'subscribe', channels: ['a'], recover: { a: { epoch: 'e' } } });
    bad({ op: 'subscribe', channels: ['a'], recover: { a: { epoch: 'e', offset: -1 } } });
    bad({ op: 'subscribe', channels: ['a'], recover: { a: { epoch: 'e', offset: 1.5 } } });
    bad({ op: 'subscribe', channels: ['a'], recover: { a: { epoch: 1, offset: 1 } } });
    bad({ op: 'subscribe', channels: ['a'], recover: [] });
  });

  test('unsubscribe', () => {
    bad({ op: 'unsubscribe' });
    bad({ op: 'unsubscribe', channels: [] });
    bad({ op: 'unsubscribe', channels: 'a' });
    bad({ op: 'unsubscribe', channels: [{}] });
  });

  test('publish', () => {
    bad({ op: 'publish', data: {} });
    bad({ op: 'publish', channel: 1, data: {} });
    bad({ op: 'publish', channel: 'x'.repeat(513), data: {} });
    bad({ op: 'publish', channel: 'a', data: {}, kind: '' });
    bad({ op: 'publish', channel: 'a', data: {}, kind: 'has space' });
    bad({ op: 'publish', channel: 'a', data: {}, kind: 'k'.repeat(65) });
    bad({ op: 'publish', channel: 'a', data: {}, kind: 7 });
  });

  test('publish without data', () => {
    const r = bad({ op: 'publish', id: 1, channel: 'a' });
    assert.equal(r.path, '/data');
  });

  test('call', () => {
    bad({ op: 'call' });
    bad({ op: 'call', method: '' });
    bad({ op: 'call', method: 1 });
    bad({ op: 'call', method: 'm'.repeat(129) });
  });

  test('auth', () => {
    bad({ op: 'auth' });
    bad({ op: 'auth', token: 1 });
    bad({ op: 'auth', token: null });
    bad({ op: 'auth', token: 't'.repeat(16_385) });
  });

  test('bad ids are rejected and not echoed', () => {
    for (const id of [null, true, {}, [], 'x'.repeat(129), Number.NaN, Number.POSITIVE_INFINITY]) {
      const r = bad({ op: 'ping', id });
      assert.equal(r.id, undefined, String(id));
    }
  });

  test('non-object frames', () => {
    for (const value of [null, undefined, 0, 1, '', 'ping', '{"op":"ping"}', true, false, 10n, Symbol('x')]) {
      const r = bad(value);
      assert.equal(r.id, undefined);
    }
  });

  test('arrays are not frames', () => {
    for (const value of [[], [{ op: 'ping' }], ['ping'], Object.assign([], { op: 'ping', id: 1 })]) {
      const r = bad(value);
      assert.equal(r.id, undefined);
    }
  });

  test('missing or non-string op', () => {
    for (const op of [undefined, null, 1, true, {}, ['ping']]) {
      const r = bad(op === undefined ? { id: 9 } : { op, id: 9 });
      assert.equal(r.path, '/op');
      assert.equal(r.id, 9);
    }
  });

  test('inherited op is ignored', () => {
    const frame = Object.create({ op: 'ping' });
    bad(frame);
  });

  test('unknown op gives unknown_op', () => {
    for (const op of ['', 'PING', 'Ping', 'pong', 'publish ', 'emit', 'toString', '__proto__', 'constructor']) {
      const r = bad({ op, id: 'u1' }, 'unknown_op');
      assert.equal(r.id, 'u1');
      assert.equal(r.path, '/op');
    }
  });

  test('unknown op message is bounded', () => {
    const r = bad({ op: 'x'.repeat(100_000) }, 'unknown_op');
    assert.ok(r.message.length < 200);
  });
});

describe('validateClientFrame: the id is kept for the error reply', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['subscribe', { op: 'subscribe', channels: 'a' }],
    ['unsubscribe', { op: 'unsubscribe' }],
    ['publish', { op: 'publish', channel: 5, data: 1 }],
    ['call', { op: 'call', method: 7 }],
    ['auth', { op: 'auth', token: false }],
    ['unknown', { op: 'nope' }],
  ];
  for (const [name, frame] of cases) {
    test(name, () => {
      for (const id of [17, 'req-17', 0, '']) {
        const r = validateClientFrame({ ...frame, id });
        assert.equal(r.ok, false);
        if (!r.ok) assert.equal(r.id, id);
      }
    });
  }

  test('the error names the op and the failing field', () => {
    const r = bad({ op: 'subscribe', id: 7, channels: 'a' });
    assert.equal(r.path, '/channels');
    assert.match(r.message, /^subscribe: \/channels /);
    const p = bad({ op: 'publish', id: 8, channel: 'a', data: 1, kind: '!' });
    assert.equal(p.path, '/kind');
    assert.match(p.message, /^publish: \/kind /);
  });
});

describe('isServerFrame', () => {
  const welcome = {
    type: 'welcome',
    session: 's1',
    node: 'n1',
    protocol: PROTOCOL_VERSION,
    server_time: 1_700_000_000_000,
    heartbeat: { interval_ms: 25_000, timeout_ms: 10_000 },
    limits: { max_payload: 1_048_576, max_subscriptions: 1024, max_rate: 100 },
  };
  const valid: [string, unknown][] = [
    ['welcome', welcome],
    [
      'reply ok',
      { type: 'reply', id: 1, ok: true, result: { subscriptions: [{ channel: 'a', epoch: 'e', offset: 0 }] } },
    ],
    ['reply ok with empty result', { type: 'reply', id: 'x', ok: true, result: {} }],
    ['reply error', { type: 'reply', id: 1, ok: false, error: { code: 'forbidden', message: 'Not allowed' } }],
    [
      'reply error with details',
      { type: 'reply', id: 'r', ok: false, error: { code: 'bad_request', message: 'm', details: { path: '/op' } } },
    ],
    ['event', { type: 'event', channel: 'alerts', offset: 3, ts: 1.5, kind: 'alert', data: { id: 'a1' } }],
    ['snapshot', { type: 'snapshot', channel: 'system.status', offset: 9, data: { status: 'ok' } }],
    ['gap slow_consumer', { type: 'gap', channel: 'a', from: 1, to: 5, reason: 'slow_consumer' }],
    ['gap history_expired', { type: 'gap', channel: 'a', from: 1, to: 5, reason: 'history_expired' }],
    ['gap epoch_changed', { type: 'gap', channel: 'a', from: 0, to: 0, reason: 'epoch_changed' }],
    ['pong', { type: 'pong', ts: 1 }],
    ['pong with id', { type: 'pong', id: 'p1', ts: 1 }],
    ['error', { type: 'error', error: { code: 'bad_request', message: 'Invalid JSON' } }],
    ['closing', { type: 'closing', code: 1001, reason: 'server shutdown', reconnect: true, retry_after_ms: 500 }],
    ['closing without retry', { type: 'closing', code: 4003, reason: 'forbidden origin', reconnect: false }],
  ];
  for (const [name, frame] of valid) {
    test(`accepts ${name}`, () => assert.equal(isServerFrame(frame), true));
  }

  const invalid: [string, unknown][] = [
    ['welcome with another protocol', { ...welcome, protocol: 2 }],
    ['welcome without heartbeat', { ...welcome, heartbeat: undefined }],
    ['welcome without limits.max_payload', { ...welcome, limits: { max_subscriptions: 1 } }],
    ['reply without id', { type: 'reply', ok: true, result: 1 }],
    ['reply ok:false without error', { type: 'reply', id: 1, ok: false, result: 1 }],
    ['reply error without message', { type: 'reply', id: 1, ok: false, error: { code: 'x' } }],
    ['reply with ok as a string', { type: 'reply', id: 1, ok: 'true', result: 1 }],
    ['event with a fractional offset', { type: 'event', channel: 'a', offset: 1.5, ts: 1, kind: 'k', data: 1 }],
    ['event without kind', { type: 'event', channel: 'a', offset: 1, ts: 1, data: 1 }],
    ['snapshot without channel', { type: 'snapshot', offset: 1, data: {} }],
    ['gap with an unknown reason', { type: 'gap', channel: 'a', from: 1, to: 2, reason: 'oops' }],
    ['pong without ts', { type: 'pong' }],
    ['error without error', { type: 'error' }],
    ['error with a string error', { type: 'error', error: 'bad' }],
    ['closing without reconnect', { type: 'closing', code: 1001, reason: 'x' }],
    ['unknown type', { type: 'hello' }],
    ['no type', { op: 'ping' }],
    ['null', null],
    ['array', [{ type: 'pong', ts: 1 }]],
    ['string', '{"type":"pong","ts":1}'],
  ];
  for (const [name, frame] of invalid) {
    test(`rejects ${name}`, () => assert.equal(isServerFrame(frame), false));
  }
});
