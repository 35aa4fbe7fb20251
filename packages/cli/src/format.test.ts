/**
 * @module format.test
 * Durations, `--since`, `--url` normalisation, tables with colour codes, and progress bars.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { painter } from './color.js';
import { benchProgressLine } from './commands/bench.js';
import { formatBytes, formatSeconds, parseDuration, progressBar, table } from './format.js';
import { parseSince } from './history.js';
import { UsageError } from './io.js';
import { hubTarget } from './options.js';

test('durations parse and print', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2d'), 172_800_000);
  for (const bad of ['', '5', 'm', '5x', '-5m', '5m ']) assert.equal(parseDuration(bad), undefined, bad);
  assert.equal(formatSeconds(45), '45s');
  assert.equal(formatSeconds(185), '3m05s');
  assert.equal(formatSeconds(3720), '1h02m');
  assert.equal(formatSeconds(2 * 86_400 + 3 * 3600), '2d03h');
  assert.equal(formatSeconds(null), '-');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
});

test('--since is an offset or a duration', () => {
  assert.deepEqual(parseSince('12'), { offset: 12 });
  assert.deepEqual(parseSince('0'), { offset: 0 });
  assert.deepEqual(parseSince('5m'), { durationMs: 300_000 });
  assert.equal(parseSince('yesterday'), undefined);
  assert.equal(parseSince('-1'), undefined);
});

test('--url becomes an HTTP base; VIGIL_URL and VIGIL_TOKEN are the fallbacks', () => {
  assert.deepEqual(hubTarget({}, {}), { url: 'http://127.0.0.1:4280', token: undefined });
  assert.equal(hubTarget({ url: 'ws://h:1/ws' }, {}).url, 'http://h:1');
  assert.equal(hubTarget({ url: 'wss://h/vigil/ws/' }, {}).url, 'https://h/vigil');
  assert.equal(hubTarget({ url: 'http://h:2/' }, {}).url, 'http://h:2');
  assert.deepEqual(hubTarget({}, { VIGIL_URL: 'http://e:3', VIGIL_TOKEN: 't' }), { url: 'http://e:3', token: 't' });
  assert.deepEqual(hubTarget({ url: 'http://f:4', token: 'x' }, { VIGIL_URL: 'http://e:3', VIGIL_TOKEN: 't' }), {
    url: 'http://f:4',
    token: 'x',
  });
  assert.throws(() => hubTarget({ url: 'nope' }, {}), UsageError);
  assert.throws(() => hubTarget({ url: 'ftp://h' }, {}), UsageError);
});

test('tables align columns, ignoring colour codes', () => {
  const paint = painter(true);
  const text = table(
    ['A', 'BB'],
    [
      ['xxx', paint('critical', 'y')],
      ['z', 'w'],
    ],
  );
  assert.equal(text, `A    BB\nxxx  ${paint('critical', 'y')}\nz    w`);
  const painted = table(undefined, [['k', 'v']], (_i, line) => `<${line}>`);
  assert.equal(painted, '<k  v>');
});

test('progress bars', () => {
  assert.equal(progressBar(0.5, 10), '[#####-----]');
  assert.equal(progressBar(1.7, 4), '[####]');
  assert.equal(progressBar(null, 4), '[....]');
  assert.equal(
    benchProgressLine(45_000, 150_000, '[fanout] Vigil'),
    '[######--------------] 30% 0:45 / ~2:30  [fanout] Vigil',
  );
  assert.match(benchProgressLine(500_000, 150_000, ''), /^\[#{20}\] 99% 8:20 \/ ~2:30$/);
  assert.equal(benchProgressLine(0, 1000, 'x'.repeat(200), 50).length, 49);
  assert.equal(benchProgressLine(0, 1000, 'x'.repeat(200), 0).length, 99, 'no size: 100 columns');
  assert.equal(benchProgressLine(0, 1000, 'short', 0), '[--------------------]  0% 0:00 / ~0:01  short');
});
