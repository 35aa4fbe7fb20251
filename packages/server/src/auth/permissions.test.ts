/**
 * @module permissions.test
 * The permission rules: pattern coverage (checked against brute-force matching), scopes, the rules of WS frames and
 * `call` methods, and the rule of every HTTP route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ClientFrame, matchChannel } from '@vigil/protocol';
import { covers, grantsChannel, grantsPattern, type Principal, refuseFrame, type Scope } from './permissions.js';
import { access, accessOf, named } from './route-access.js';

function principal(scopes: Scope[], channels?: string[]): Principal {
  return { name: 'p', kind: 'api_key', scopes: new Set(scopes), channels };
}

test('covers: a granted pattern covers a requested one when it matches every channel the request can match', () => {
  const cases: [string, string, boolean][] = [
    ['demo.a', 'demo.a', true],
    ['demo.a', 'demo.b', false],
    ['demo.*', 'demo.a', true],
    ['demo.*', 'demo.*', true],
    ['demo.*', 'demo.>', false],
    ['demo.*', 'demo.a.b', false],
    ['demo.*', 'demo', false],
    ['demo.>', 'demo.a', true],
    ['demo.>', 'demo.*', true],
    ['demo.>', 'demo.>', true],
    ['demo.>', 'demo.a.>', true],
    ['demo.>', 'demo.*.b', true],
    ['demo.>', 'demo', false],
    ['demo.>', '*.a', false],
    ['demo.>', 'other.a', false],
    ['demo.a', 'demo.*', false],
    ['demo.a.>', 'demo.>', false],
    ['*.a', 'demo.a', true],
    ['*.a', '*.a', true],
    ['*.a', '>', false],
    ['*', 'demo', true],
    ['*', '*', true],
    ['*', 'demo.a', false],
    ['*.>', 'demo.a', true],
    ['*.>', 'demo.>', true],
    ['*.>', 'demo', false],
    ['demo.*.>', 'demo.>', false],
    ['demo.*.>', 'demo.a.>', true],
    ['demo.*.c', 'demo.b.*', false],
  ];
  for (const [g, r, want] of cases) assert.equal(covers(g, r), want, `${g} covers ${r}`);
});

test('covers agrees with matching on every channel of a small universe', () => {
  const segs = ['a', 'b'];
  const channels: string[] = [];
  const grow = (prefix: string[], depth: number) => {
    if (prefix.length > 0) channels.push(prefix.join('.'));
    if (depth === 0) return;
    for (const s of segs) grow([...prefix, s], depth - 1);
  };
  grow([], 4);
  const patterns: string[] = [];
  const growP = (prefix: string[], depth: number) => {
    if (prefix.length > 0) patterns.push(prefix.join('.'));
    if (depth === 0) return;
    for (const s of [...segs, '*']) growP([...prefix, s], depth - 1);
    if (prefix.length > 0) patterns.push([...prefix, '>'].join('.'));
  };
  growP([], 3);
  // Channels up to 4 segments stand for "any": a pattern of at most 3 segments ending in `>` matches one of length 4.
  for (const g of patterns) {
    for (const r of patterns) {
      const expected = channels.filter((c) => matchChannel(r, c)).every((c) => matchChannel(g, c));
      assert.equal(covers(g, r), expected, `${g} covers ${r}`);
    }
  }
});

test('grants: absent channels grant everything; a bare > is only a grant', () => {
  const all = principal(['read']);
  assert.ok(grantsPattern(all, 'anything.>') && grantsChannel(all, 'x'));
  const some = principal(['read'], ['demo.>', 'ops']);
  assert.ok(grantsPattern(some, 'demo.*') && grantsPattern(some, 'ops'));
  assert.ok(!grantsPattern(some, 'ops.>') && !grantsChannel(some, 'demo') && grantsChannel(some, 'demo.x'));
});

test('refuseFrame: ping and auth always pass; anything else needs a principal, a scope and granted channels', () => {
  const f = (frame: unknown) => frame as ClientFrame;
  assert.equal(refuseFrame(undefined, f({ op: 'ping' })), undefined);
  assert.equal(refuseFrame(undefined, f({ op: 'auth', token: 'x' })), undefined);
  assert.equal(refuseFrame(undefined, f({ op: 'unsubscribe', channels: ['a'] }))?.code, 'unauthorized');
  const reader = principal(['read'], ['demo.>']);
  assert.equal(refuseFrame(reader, f({ op: 'subscribe', channels: ['demo.a'] })), undefined);
  assert.equal(refuseFrame(reader, f({ op: 'subscribe', channels: ['demo.a', 'x'] }))?.code, 'forbidden');
  assert.equal(refuseFrame(reader, f({ op: 'subscribe', channels: ['bad..'] })), undefined, 'left to the op');
  assert.equal(refuseFrame(reader, f({ op: 'publish', channel: 'demo.a', data: 1 }))?.code, 'forbidden');
  assert.equal(refuseFrame(reader, f({ op: 'call', method: 'stats' })), undefined);
  assert.equal(refuseFrame(reader, f({ op: 'call', method: 'metrics.current' }))?.code, 'forbidden', 'metrics.>');
  assert.equal(refuseFrame(principal(['read']), f({ op: 'call', method: 'metrics.current' })), undefined);
  assert.equal(refuseFrame(principal(['read']), f({ op: 'call', method: 'alerts.ack' }))?.code, 'forbidden');
  assert.equal(refuseFrame(principal(['read']), f({ op: 'call', method: 'new.method' }))?.code, 'forbidden');
  assert.equal(refuseFrame(principal(['admin']), f({ op: 'call', method: 'alerts.ack' })), undefined);
  const publisher = principal(['publish'], ['demo.>']);
  assert.equal(refuseFrame(publisher, f({ op: 'publish', channel: 'demo.a', data: 1 })), undefined);
  assert.equal(refuseFrame(publisher, f({ op: 'publish', channel: 'demo', data: 1 }))?.code, 'forbidden');
  assert.equal(refuseFrame(publisher, f({ op: 'subscribe', channels: ['demo.a'] }))?.code, 'forbidden');
});

test('accessOf: a declaration wins; undeclared routes are public outside the API and need admin on every channel inside it', () => {
  const every = { kind: 'scoped', scope: 'admin', data: ['>'] };
  const cases: [string, string | undefined, string, unknown][] = [
    ['GET', '/assets/*', '/assets/app.js', { kind: 'public' }],
    ['HEAD', '/*', '/alerts', { kind: 'public' }],
    ['GET', undefined, '/favicon.ico', { kind: 'public' }],
    ['GET', '/api/docs/static/*', '/api/docs/static/index.html', { kind: 'public' }],
    ['GET', undefined, '/api/v1/nothing', { kind: 'authenticated' }],
    ['GET', undefined, '/metrics/x', { kind: 'authenticated' }],
    ['POST', undefined, '/favicon.ico', { kind: 'authenticated' }],
    ['GET', '/api/v1/something-new', '/api/v1/something-new', every],
    ['GET', '/metrics', '/metrics', every],
    ['POST', '/api/v1/something-new', '/api/v1/something-new', every],
    ['POST', '/', '/', every],
  ];
  for (const [method, route, path, want] of cases) {
    assert.deepEqual(accessOf(method, route, path), want, `${method} ${route ?? path}`);
  }
  const declared = access('read', ['alerts']).access;
  assert.equal(accessOf('GET', '/api/v1/x', '/api/v1/x', declared), declared);
  assert.deepEqual(access('publish', named('body', 'channel')).access, {
    kind: 'scoped',
    scope: 'publish',
    data: { named: 'body', field: 'channel' },
  });
});
