/**
 * @module channels.test
 * Channel names, subscription patterns and the `*` / `>` matching table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isValidChannel,
  isValidPattern,
  isWildcard,
  MAX_CHANNEL_LENGTH,
  matchChannel,
  patternsOverlap,
} from './channels.js';

/** A valid name of exactly `n` characters made of `a`-segments of 9 characters. */
function nameOfLength(n: number): string {
  let s = 'a'.repeat(Math.min(n, 9));
  while (s.length < n) s += '.' + 'b'.repeat(Math.min(9, n - s.length - 1) || 1);
  return s.slice(0, n);
}

describe('isValidChannel', () => {
  test('accepts names made of [A-Za-z0-9_:-] segments joined by dots', () => {
    for (const name of [
      'alerts',
      'system.status',
      'metrics.app.http.latency_ms',
      'A-Z_a-z:0-9',
      'x',
      '0',
      'a.b.c.d.e.f.g.h',
      'tenant:42.jobs-queue.item_7',
    ]) {
      assert.equal(isValidChannel(name), true, name);
    }
  });

  test('length: 255 is the maximum', () => {
    assert.equal(MAX_CHANNEL_LENGTH, 255);
    const max = nameOfLength(255);
    assert.equal(max.length, 255);
    assert.equal(isValidChannel(max), true);
    assert.equal(isValidChannel('a'.repeat(255)), true);
    const over = nameOfLength(256);
    assert.equal(over.length, 256);
    assert.equal(isValidChannel(over), false);
    assert.equal(isValidChannel('a'.repeat(256)), false);
    assert.equal(isValidChannel('a'.repeat(100_000)), false);
  });

  test('rejects empty names and empty segments', () => {
    for (const name of ['', '.', '..', '.a', 'a.', 'a..b', 'a.b.', '.a.b']) {
      assert.equal(isValidChannel(name), false, JSON.stringify(name));
    }
  });

  test('rejects bad characters', () => {
    for (const name of [
      'a b',
      ' a',
      'a ',
      'a\tb',
      'a\nb',
      'a/b',
      'a#b',
      'a$',
      'a+b',
      'a,b',
      'métrics',
      'a\u0000b',
      'ａ',
      'a.b c',
      'a"b',
      'a\\b',
      '🔥',
    ]) {
      assert.equal(isValidChannel(name), false, JSON.stringify(name));
    }
  });

  test('rejects wildcards: names are concrete', () => {
    for (const name of ['*', '>', 'a.*', 'a.>', '*.b', 'a.*.c', 'a*', 'a>', 'a.b*']) {
      assert.equal(isValidChannel(name), false, name);
    }
  });

  test('rejects non-strings', () => {
    for (const value of [undefined, null, 1, true, ['a'], { name: 'a' }, Symbol('a')]) {
      assert.equal(isValidChannel(value), false, String(value));
    }
  });
});

describe('isValidPattern', () => {
  test('accepts every valid name', () => {
    for (const name of ['alerts', 'metrics.app.http.latency_ms', nameOfLength(255)]) {
      assert.equal(isValidPattern(name), true, name);
    }
  });

  test('accepts `*` segments anywhere and `>` last', () => {
    for (const p of ['*', '*.*', 'a.*', '*.b', 'a.*.c', 'metrics.>', 'a.*.>', '*.>', '*.*.>', 'a.b.c.>']) {
      assert.equal(isValidPattern(p), true, p);
    }
  });

  test('rejects a bare `>` and `>` anywhere but last', () => {
    for (const p of ['>', '>.a', 'a.>.b', 'a.>.>', '>.>', '*.>.*']) {
      assert.equal(isValidPattern(p), false, p);
    }
  });

  test('rejects partial-segment wildcards and other bad characters', () => {
    for (const p of ['a*', '*a', 'a.b*', 'a.*b', 'a.>b', 'a.b>', '**', '>>', 'a.**', 'a.*.>x', 'a b.*', 'a.#', 'a.?']) {
      assert.equal(isValidPattern(p), false, p);
    }
  });

  test('rejects empty patterns, empty segments and over-long patterns', () => {
    for (const p of ['', '.', 'a..*', '*.', '.>', 'a.', '.*']) {
      assert.equal(isValidPattern(p), false, JSON.stringify(p));
    }
    assert.equal(isValidPattern(nameOfLength(253) + '.>'), true);
    assert.equal(isValidPattern(nameOfLength(254) + '.>'), false);
  });

  test('rejects non-strings', () => {
    for (const value of [undefined, null, 0, {}, ['*']]) assert.equal(isValidPattern(value), false);
  });
});

describe('isWildcard', () => {
  test('is true exactly for patterns with a wildcard segment', () => {
    for (const p of ['*', 'a.*', '*.b', 'a.*.c', 'metrics.>', '*.>']) assert.equal(isWildcard(p), true, p);
    for (const p of ['alerts', 'system.status', 'metrics.app.http.latency_ms', 'a-b:c_d']) {
      assert.equal(isWildcard(p), false, p);
    }
  });
});

describe('matchChannel', () => {
  const table: [pattern: string, channel: string, matches: boolean][] = [
    // exact
    ['alerts', 'alerts', true],
    ['alerts', 'alert', false],
    ['alerts', 'alerts.x', false],
    ['system.status', 'system.status', true],
    ['system.status', 'system', false],
    // `*`: exactly one segment
    ['*', 'alerts', true],
    ['*', 'system.status', false],
    ['system.*', 'system.status', true],
    ['system.*', 'system', false],
    ['system.*', 'system.status.x', false],
    ['*.status', 'system.status', true],
    ['*.status', 'status', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
    ['*.*', 'a.b.c', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['x.*', 'a.b', false],
    // `>`: one or more trailing segments
    ['metrics.>', 'metrics.cpu', true],
    ['metrics.>', 'metrics.app.http.latency_ms', true],
    ['metrics.>', 'metrics', false],
    ['metrics.>', 'metricsx.cpu', false],
    ['metrics.>', 'metric.cpu', false],
    ['metrics.>', 'alerts', false],
    ['metrics.>', 'app.metrics.cpu', false],
    ['*.>', 'a', false],
    ['*.>', 'a.b', true],
    ['*.>', 'a.b.c.d.e', true],
    ['a.*.>', 'a.b', false],
    ['a.*.>', 'a.b.c', true],
    ['a.*.>', 'a.b.c.d', true],
    ['a.*.>', 'x.b.c', false],
    // deep names (metric names contain dots)
    ['metrics.app.>', 'metrics.app.http.latency_ms', true],
    ['metrics.app.http.>', 'metrics.app.http.latency_ms', true],
    ['metrics.app.http.latency_ms.>', 'metrics.app.http.latency_ms', false],
    ['metrics.*', 'metrics.app.http.latency_ms', false],
    ['metrics.*.*.*', 'metrics.app.http.latency_ms', true],
    ['metrics.*.http.*', 'metrics.app.http.latency_ms', true],
    ['metrics.*.grpc.*', 'metrics.app.http.latency_ms', false],
    ['metrics.app.http.latency_ms', 'metrics.app.http.latency_ms', true],
    ['metrics.app.http.latency', 'metrics.app.http.latency_ms', false],
  ];

  for (const [pattern, channel, matches] of table) {
    test(`${pattern} ${matches ? 'matches' : 'does not match'} ${channel}`, () => {
      assert.equal(matchChannel(pattern, channel), matches);
    });
  }

  test('a deep channel of 60 segments', () => {
    const segs = Array.from({ length: 60 }, (_, i) => `s${i}`);
    const channel = segs.join('.');
    assert.equal(isValidChannel(channel), true);
    assert.equal(matchChannel('s0.>', channel), true);
    assert.equal(matchChannel(segs.map(() => '*').join('.'), channel), true);
    assert.equal(
      matchChannel(
        segs
          .slice(0, 59)
          .map(() => '*')
          .join('.'),
        channel,
      ),
      false,
    );
    assert.equal(
      matchChannel(
        segs
          .slice(0, 59)
          .map(() => '*')
          .join('.') + '.>',
        channel,
      ),
      true,
    );
    assert.equal(matchChannel(segs.map(() => '*').join('.') + '.>', channel), false);
  });

  test('agrees with a reference regex on every pattern/channel pair', () => {
    const channels = ['a', 'b', 'a.b', 'a.c', 'b.b', 'a.b.c', 'a.b.c.d', 'x.y.z'];
    const patterns = ['a', 'a.b', '*', '*.*', 'a.*', '*.b', 'a.>', '*.>', 'a.*.>', '*.*.>', 'a.b.>', 'x.*.z'];
    const reference = (p: string): RegExp =>
      new RegExp(
        '^' +
          p
            .split('.')
            .map((s) => (s === '*' ? '[^.]+' : s === '>' ? '[^.]+(?:\\.[^.]+)*' : s))
            .join('\\.') +
          '$',
      );
    for (const p of patterns) {
      assert.equal(isValidPattern(p), true, p);
      for (const c of channels) assert.equal(matchChannel(p, c), reference(p).test(c), `${p} vs ${c}`);
    }
  });
});

describe('patternsOverlap', () => {
  test('is true exactly when some channel matches both patterns', () => {
    // Every channel of up to 4 segments over {a, b, c} is a witness candidate; a pattern below names at most 4.
    const channels: string[] = [];
    const grow = (prefix: string[]): void => {
      if (prefix.length > 0) channels.push(prefix.join('.'));
      if (prefix.length < 4) for (const s of ['a', 'b', 'c']) grow([...prefix, s]);
    };
    grow([]);
    const patterns = ['a', 'b', 'a.b', 'a.c', '*', '*.*', 'a.*', '*.b', 'a.>', '*.>', 'b.>', 'a.*.>', '*.*.>'];
    patterns.push('a.b.>', 'a.b.c', '*.*.*', 'a.*.c', '*.b.*', 'b.*.>', '*.*.*.>');
    for (const p of patterns) {
      for (const q of patterns) {
        const witness = channels.some((c) => matchChannel(p, c) && matchChannel(q, c));
        assert.equal(patternsOverlap(p, q), witness, `${p} vs ${q}`);
      }
    }
  });
});
