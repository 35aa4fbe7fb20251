/** @module metrics/sample.test — validation of raw samples, timestamps and series keys. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMetricName, normalizeSample, parseRfc3339, seriesKey } from './sample.js';

const NOW = 1_700_000_000_000;

function errorOf(input: unknown): string {
  const r = normalizeSample(input, NOW);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  return r.ok ? '' : r.error;
}

describe('normalizeSample', () => {
  it('accepts a minimal sample and fills defaults', () => {
    assert.deepEqual(normalizeSample({ name: 'app.http.latency_ms', value: 12.5 }, NOW), {
      ok: true,
      sample: { name: 'app.http.latency_ms', value: 12.5, labels: {}, ts: NOW },
    });
  });

  it('accepts labels, numeric and RFC 3339 timestamps, and the `metric` alias', () => {
    const r = normalizeSample(
      { metric: 'cpu:usage', value: -1, labels: { host: 'a', _x: '' }, ts: '2024-02-29T12:00:00.5+01:00' },
      NOW,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.sample, {
      name: 'cpu:usage',
      value: -1,
      labels: { host: 'a', _x: '' },
      ts: Date.UTC(2024, 1, 29, 11, 0, 0, 500),
    });
    const numeric = normalizeSample({ name: 'x', value: 1, ts: 1234.9 }, NOW);
    assert.ok(numeric.ok && numeric.sample.ts === 1234);
  });

  it('accepts NaN and infinities as values', () => {
    for (const value of [Number.NaN, Infinity, -Infinity, -0, Number.MIN_VALUE]) {
      const r = normalizeSample({ name: 'x', value }, NOW);
      assert.ok(r.ok && Object.is(r.sample.value, value));
    }
  });

  it('rejects bad input with a message naming the field', () => {
    assert.match(errorOf(null), /^sample: must be an object \(got null\)/);
    assert.match(errorOf([1]), /^sample: must be an object \(got array\)/);
    assert.match(errorOf({ value: 1 }), /^name: must be a string \(got undefined\)/);
    assert.match(errorOf({ name: '1abc', value: 1 }), /^name: "1abc" must start with/);
    assert.match(errorOf({ name: 'a-b', value: 1 }), /^name: "a-b" contains an invalid character "-"/);
    assert.match(errorOf({ name: 'a..b', value: 1 }), /^name: .* empty segment/);
    assert.match(errorOf({ name: 'a.', value: 1 }), /^name: .* end with "\."/);
    assert.match(errorOf({ name: 'a'.repeat(201), value: 1 }), /^name: .* at most 200/);
    assert.match(errorOf({ name: 'x', value: '1' }), /^value: must be a number \(got string\)/);
    assert.match(errorOf({ name: 'x', value: true }), /^value: must be a number \(got boolean\)/);
    assert.match(errorOf({ name: 'x' }), /^value: must be a number \(got undefined\)/);
    assert.match(errorOf({ name: 'x', value: 1, labels: [] }), /^labels: must be an object/);
    assert.match(errorOf({ name: 'x', value: 1, labels: { a: 1 } }), /^labels\.a: must be a string \(got number\)/);
    assert.match(errorOf({ name: 'x', value: 1, labels: { 'a-b': '1' } }), /^labels: name "a-b" contains/);
    assert.match(errorOf({ name: 'x', value: 1, labels: { '': '1' } }), /^labels: name "" must not be empty/);
    assert.match(errorOf({ name: 'x', value: 1, labels: { a: 'v'.repeat(1025) } }), /^labels\.a: must be at most 1024/);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
    assert.match(errorOf({ name: 'x', value: 1, labels: many }), /^labels: at most 32 labels/);
    assert.match(errorOf({ name: 'x', value: 1, ts: 'yesterday' }), /^ts: "yesterday" is not an RFC 3339/);
    assert.match(errorOf({ name: 'x', value: 1, ts: -1 }), /^ts: -1 is out of range/);
    assert.match(errorOf({ name: 'x', value: 1, ts: Infinity }), /^ts: must be a finite number/);
    assert.match(errorOf({ name: 'x', value: 1, ts: true }), /^ts: must be milliseconds/);
  });

  it('shuts out prototype pollution through label names', () => {
    const parsed: unknown = JSON.parse('{"name":"x","value":1,"labels":{"__proto__":{"polluted":"yes"}}}');
    assert.match(errorOf(parsed), /^labels: name "__proto__" must not start with "__"/);
    const parsed2: unknown = JSON.parse('{"name":"x","value":1,"labels":{"__proto__":"x"}}');
    assert.match(errorOf(parsed2), /reserved/);
    const ok = normalizeSample({ name: 'x', value: 1, labels: { constructor: 'c', hasOwnProperty: 'h' } }, NOW);
    assert.ok(ok.ok);
    assert.equal(Object.getPrototypeOf(ok.sample.labels), Object.prototype);
    assert.deepEqual(Object.keys(ok.sample.labels), ['constructor', 'hasOwnProperty']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('copies labels rather than keeping the caller object', () => {
    const labels = { a: '1' };
    const r = normalizeSample({ name: 'x', value: 1, labels }, NOW);
    assert.ok(r.ok && r.sample.labels !== labels);
  });
});

describe('parseRfc3339', () => {
  it('parses valid date-times', () => {
    assert.equal(parseRfc3339('1970-01-01T00:00:00Z'), 0);
    assert.equal(parseRfc3339('2024-05-01 12:34:56.789123z'), Date.UTC(2024, 4, 1, 12, 34, 56, 789));
    assert.equal(parseRfc3339('2024-05-01T12:00:00-02:30'), Date.UTC(2024, 4, 1, 14, 30));
    assert.equal(parseRfc3339('2016-12-31T23:59:60Z'), Date.UTC(2016, 11, 31, 23, 59, 59, 999));
    assert.equal(parseRfc3339('2024-05-01T12:00:00.1Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 100));
  });

  it('rejects invalid ones', () => {
    for (const s of [
      '2024-05-01',
      '2024-05-01T12:00:00',
      '2023-02-29T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:00:00.Z',
      '2024-05-01T12:00:00+0200',
      '2024-05-01X12:00:00Z',
      '2024-05-01T12:00:00Zjunk',
      '+02024-05-01T12:00:00Z',
    ]) {
      assert.equal(parseRfc3339(s), undefined, s);
    }
  });
});

describe('seriesKey', () => {
  it('is independent of label order and escapes values', () => {
    assert.equal(seriesKey('up', {}), 'up');
    assert.equal(seriesKey('m', { b: '2', a: '1' }), 'm{a="1",b="2"}');
    assert.equal(seriesKey('m', { a: '1', b: '2' }), seriesKey('m', { b: '2', a: '1' }));
    assert.equal(seriesKey('m', { a: 'x"y\\z\nw' }), 'm{a="x\\"y\\\\z\\nw"}');
  });

  it('distinguishes series whose naive concatenations collide', () => {
    assert.notEqual(seriesKey('m', { a: '1",b="2' }), seriesKey('m', { a: '1', b: '2' }));
    assert.notEqual(seriesKey('m', { a: '' }), seriesKey('m', {}));
  });
});

describe('checkMetricName', () => {
  it('allows Prometheus names plus dots', () => {
    for (const ok of ['a', '_a', ':a', 'a:b_c.d1', 'system.cpu.user']) assert.equal(checkMetricName(ok), undefined);
    for (const bad of ['', '.a', 'a b', 'é', '9']) assert.notEqual(checkMetricName(bad), undefined);
  });
});
