/** @module metrics/ingest/prometheus-text.test — parsing of the Prometheus text exposition format. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrometheusFloat, parsePrometheusText } from './prometheus-text.js';

const NOW = 1_700_000_000_000;

describe('parsePrometheusText', () => {
  it('parses a typical exposition with HELP, TYPE, labels, timestamps and a histogram', () => {
    const body = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# A normal comment',
      'metric_without_timestamp_and_labels 12.47',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.99"} 76656',
      'something_weird{problem="division by zero"} +Inf -3982045',
    ].join('\n');
    const r = parsePrometheusText(body, NOW);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].line, 15);
    assert.match(r.errors[0].message, /out of range/);
    assert.equal(r.samples.length, 8);
    assert.deepEqual(r.samples[0], {
      name: 'http_requests_total',
      value: 1027,
      labels: { method: 'post', code: '200' },
      ts: 1395066363000,
    });
    assert.equal(r.samples[1].value, 3);
    assert.deepEqual(r.samples[2], { name: 'metric_without_timestamp_and_labels', value: 12.47, labels: {}, ts: NOW });
    assert.deepEqual(r.samples[4].labels, { le: '+Inf' });
    assert.equal(r.samples[7].name, 'rpc_duration_seconds');
    assert.equal(r.types.get('http_requests_total'), 'counter');
    assert.equal(r.types.get('http_request_duration_seconds'), 'histogram');
    assert.equal(r.types.get('rpc_duration_seconds'), 'summary');
    assert.equal(r.help.get('http_requests_total'), 'The total number of HTTP requests.');
  });

  it('unescapes label values and HELP text', () => {
    const body = [
      '# HELP m A \\\\ backslash and a\\nnewline',
      'm{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",odd="}{,#"} 1.458255915e9',
    ].join('\n');
    const r = parsePrometheusText(body, NOW);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.samples[0].labels, {
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
      odd: '}{,#',
    });
    assert.equal(r.samples[0].value, 1458255915);
    assert.equal(r.help.get('m'), 'A \\ backslash and a\nnewline');
  });

  it('reads NaN and infinities, blanks, trailing commas, CRLF and dotted names', () => {
    const body = 'a NaN\r\nb +Inf\r\nc -Inf\nd{x="1",} 2\n\t e { x = "1" , y="2" }\t3\t 5000\nf.g.h 1e-3\nk inf\n';
    const r = parsePrometheusText(body, NOW);
    assert.deepEqual(r.errors, []);
    assert.ok(Number.isNaN(r.samples[0].value));
    assert.equal(r.samples[1].value, Infinity);
    assert.equal(r.samples[2].value, -Infinity);
    assert.deepEqual(r.samples[3].labels, { x: '1' });
    assert.deepEqual(r.samples[4], { name: 'e', value: 3, labels: { x: '1', y: '2' }, ts: 5000 });
    assert.equal(r.samples[5].name, 'f.g.h');
    assert.equal(r.samples[5].value, 0.001);
    assert.equal(r.samples[6].value, Infinity);
  });

  it('reports malformed lines with their line numbers and keeps the good ones', () => {
    const lines = [
      'good 1', // 1
      'bad_value abc', // 2
      'no_value', // 3
      'x{a="1" 2', // 4: missing }
      'x{a="1} 2', // 5: unterminated value
      'x{a="\\t"} 2', // 6: bad escape
      'x{a="1",a="2"} 2', // 7: duplicate
      'x{__name__="y"} 2', // 8: reserved
      'x{1a="y"} 2', // 9: bad label name
      'x 1 2 3', // 10: trailing text
      'x 1 12.5', // 11: fractional timestamp
      '# TYPE x gauge', // 12
      '# TYPE x counter', // 13: second TYPE
      '# TYPE y flavour', // 14: unknown type
      'x-y 1', // 15: bad name char
      '{a="b"} 1', // 16: no name
      `x{${Array.from({ length: 33 }, (_, i) => `l${i}="v"`).join(',')}} 1`, // 17: too many labels
      'x 0x10', // 18: hex is not accepted
      '# HELP', // 19
      'also_good{a="b"} -2.5', // 20
      'x{a="1"}} 2', // 21
      `x{a="${'v'.repeat(1025)}"} 1`, // 22
    ];
    const r = parsePrometheusText(lines.join('\n'), NOW);
    assert.deepEqual(
      r.samples.map((s) => s.name),
      ['good', 'also_good'],
    );
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 21, 22],
    );
    const byLine = new Map(r.errors.map((e) => [e.line, e.message]));
    assert.match(byLine.get(2)!, /invalid value "abc"/);
    assert.match(byLine.get(3)!, /missing value/);
    assert.match(byLine.get(5)!, /unterminated label value/);
    assert.match(byLine.get(6)!, /invalid escape/);
    assert.match(byLine.get(7)!, /duplicate label "a"/);
    assert.match(byLine.get(8)!, /reserved/);
    assert.match(byLine.get(13)!, /second TYPE/);
    assert.match(byLine.get(14)!, /unknown type "flavour"/);
    assert.match(byLine.get(15)!, /invalid character "-"/);
    assert.match(byLine.get(17)!, /more than 32 labels/);
    assert.match(byLine.get(22)!, /at most 1024/);
    assert.equal(r.types.get('x'), 'gauge');
  });

  it('handles empty input and a final line without newline', () => {
    assert.deepEqual(parsePrometheusText('', NOW).samples, []);
    assert.equal(parsePrometheusText('\n\n  \n', NOW).errors.length, 0);
    assert.equal(parsePrometheusText('a 1\nb 2', NOW).samples.length, 2);
  });

  it('does not let label names pollute prototypes', () => {
    const r = parsePrometheusText('x{__proto__="1"} 1\nx{constructor="c",toString="t"} 1', NOW);
    assert.equal(r.errors.length, 1);
    assert.equal(r.samples[0].labels.constructor, 'c');
    assert.equal(Object.getPrototypeOf(r.samples[0].labels), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('parsePrometheusFloat', () => {
  it('accepts Go-style decimal floats and special values only', () => {
    assert.equal(parsePrometheusFloat('1'), 1);
    assert.equal(parsePrometheusFloat('-1.5e3'), -1500);
    assert.equal(parsePrometheusFloat('.5'), 0.5);
    assert.equal(parsePrometheusFloat('5.'), 5);
    assert.equal(parsePrometheusFloat('+3E-2'), 0.03);
    assert.equal(parsePrometheusFloat('-Infinity'), -Infinity);
    assert.ok(Number.isNaN(parsePrometheusFloat('nan')));
    for (const bad of ['', '-', '.', 'e5', '1e', '1e+', '1_000', '0x1', 'Infinityy', '+NaN', '1.2.3', ' 1']) {
      assert.equal(parsePrometheusFloat(bad), undefined, bad);
    }
  });
});
