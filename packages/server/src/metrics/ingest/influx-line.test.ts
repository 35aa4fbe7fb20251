/** @module metrics/ingest/influx-line.test — parsing of InfluxDB line protocol. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInfluxColumns, parseInfluxLines } from './influx-line.js';

const NOW = 1_700_000_000_000;

describe('parseInfluxLines', () => {
  it('maps a Telegraf cpu line to one sample per numeric field', () => {
    const r = parseInfluxLines(
      'cpu,cpu=cpu-total,host=web1 usage_user=12.5,usage_system=3i,online=true,state="ok" 1700000000123456789',
      NOW,
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.skippedStringFields, 1);
    assert.deepEqual(r.samples, [
      { name: 'cpu_usage_user', value: 12.5, labels: { cpu: 'cpu-total', host: 'web1' }, ts: 1700000000123 },
      { name: 'cpu_usage_system', value: 3, labels: { cpu: 'cpu-total', host: 'web1' }, ts: 1700000000123 },
      { name: 'cpu_online', value: 1, labels: { cpu: 'cpu-total', host: 'web1' }, ts: 1700000000123 },
    ]);
    // One line's samples share one frozen labels object.
    assert.equal(r.samples[0].labels, r.samples[1].labels);
    assert.ok(Object.isFrozen(r.samples[0].labels));
  });

  it('reads plain decimals and timestamps exactly as Number() does', () => {
    const tokens = [
      '0',
      '-0',
      '-0.00',
      '12.50',
      '.5',
      '-.25',
      '5.',
      '007',
      '1e3',
      '+4',
      '123456789012345',
      '1234567890123456',
      '0.1',
      '99.99',
      '-123.456789012345',
      '3i',
      '-3i',
      '-0i',
      '9007199254740993i',
      '12345678901234567.25',
      '0.1234567890123456789',
      '-61.97734426893045',
      '9007199254740992',
      '9007199254740993',
      '9007199254740991.5',
      '900719925474099.3',
      '900719925474099.1',
      '0.9007199254740993',
      '-9.007199254740992',
      '1234567890.123456',
      '.1234567890123456',
      '47.59303383725417',
      '47.593033837254174',
      'true',
    ];
    // Full-precision doubles as JavaScript prints them: 16 and 17 digits.
    for (let i = 0; i < 2000; i++) tokens.push(String((Math.random() - 0.3) * 10 ** ((i % 9) - 3)));
    for (let i = 0; i < 2000; i++) tokens.push((Math.round((Math.random() - 0.5) * 1e6) / 10 ** (i % 7)).toString());
    for (const tok of tokens) {
      const r = parseInfluxLines(`m value=${tok} 1700000000123456789`, NOW);
      assert.deepEqual(r.errors, [], tok);
      const want = tok === 'true' ? 1 : Number(tok.replace(/i$/, ''));
      assert.ok(Object.is(r.samples[0].value, want), `${tok}: ${r.samples[0].value} vs ${want}`);
    }
    for (const [ts, precision, want] of [
      ['1700000000123456789', 'ns', 1700000000123],
      ['123456', 'ns', 0],
      ['1234567', 'ns', 1],
      ['1700000000123456', 'us', 1700000000123],
      ['999999999999999', 'ms', 999999999999999],
      ['8640000000000000', 'ms', 8640000000000000],
      ['1700000000', 's', 1700000000000],
    ] as const) {
      assert.equal(parseInfluxLines(`m value=1 ${ts}`, NOW, precision).samples[0]?.ts, want, `${ts} ${precision}`);
    }
    assert.equal(parseInfluxLines('m value=1 99999999999999999', NOW, 'ms').errors.length, 1, 'past the Date range');
    assert.equal(parseInfluxLines('m value=1x 1', NOW, 'ms').errors.length, 1);
    assert.equal(parseInfluxLines('m value=1.2.3 1', NOW, 'ms').errors.length, 1);
    assert.equal(parseInfluxLines('m value=- 1', NOW, 'ms').errors.length, 1);
  });

  it('parses a line head once: the second sighting gives the same samples, errors and series slots', () => {
    const body = [
      'm\\ x,a=b\\ c,d=e\\,f value=1,other=2 1000',
      'm\\ x,a=b\\ c,d=e\\,f value=3 2000',
      'm\\\\ x,a=b value=4 3000',
      'bad,=x value=1 1000',
      'n,a=b,a=c value=1 1000',
      '',
    ].join('\n');
    const first = parseInfluxLines(body, NOW, 'ms');
    const second = parseInfluxLines(body, NOW, 'ms');
    assert.deepEqual(second, first);
    assert.deepEqual(
      first.samples.map((s) => [s.name, s.labels, s.value]),
      [
        ['m_x', { a: 'b c', d: 'e,f' }, 1],
        ['m_x_other', { a: 'b c', d: 'e,f' }, 2],
        ['m_x', { a: 'b c', d: 'e,f' }, 3],
        ['m__x', { a: 'b' }, 4],
      ],
    );
    assert.deepEqual(
      first.errors.map((e) => e.line),
      [4, 5],
    );
    const columns = parseInfluxColumns(body, NOW, 'ms').columns;
    assert.equal(columns.length, first.samples.length);
    const { slots } = columns;
    assert.equal(slots[0], slots[2], 'one slot per cached head and field');
    assert.notEqual(slots[0], slots[1]);
    assert.notEqual(slots[0], slots[3]);
    assert.deepEqual(
      Array.from(columns.values.subarray(0, columns.length)),
      first.samples.map((s) => s.value),
    );
    assert.deepEqual(
      Array.from(columns.ts.subarray(0, columns.length)),
      first.samples.map((s) => s.ts),
    );
  });

  it('grows its columns past the first guess (many fields per line)', () => {
    const fields = Array.from({ length: 50 }, (_, i) => `f${i}=${i}`).join(',');
    const body = Array.from({ length: 100 }, (_, t) => `m,h=a ${fields} ${t + 1}`).join('\n');
    const { columns, errors } = parseInfluxColumns(body, NOW, 'ms');
    assert.deepEqual(errors, []);
    assert.equal(columns.length, 5000);
    assert.equal(columns.values[4999], 49);
    assert.equal(columns.ts[4999], 100);
    assert.equal(columns.slots[4999]!.name, 'm_f49');
  });

  it('reads UTF-8 tag values and quotes the line in errors, from bytes or text, with a cached head too', () => {
    const body =
      'temp,room=küche\\ 1,city=Zürich value=21.5 1000\ntemp,room=küche\\ 1,city=Zürich value=22 2000\ntemp,room=日本 v=1é 3000\n';
    for (const input of [body, Buffer.from(body, 'utf8')]) {
      const r = parseInfluxLines(input, NOW, 'ms');
      assert.deepEqual(
        r.samples.map((s) => [s.name, s.labels, s.value, s.ts]),
        [
          ['temp', { room: 'küche 1', city: 'Zürich' }, 21.5, 1000],
          ['temp', { room: 'küche 1', city: 'Zürich' }, 22, 2000],
        ],
      );
      assert.equal(r.samples[0]!.labels, r.samples[1]!.labels);
      assert.deepEqual(
        r.errors.map((e) => [e.line, e.message]),
        [[3, 'invalid value "1é" for field "v"']],
      );
    }
  });

  it('names the `value` field after the measurement and defaults the timestamp to now', () => {
    const r = parseInfluxLines('temperature value=21.5,max=30u', NOW);
    assert.deepEqual(r.samples, [
      { name: 'temperature', value: 21.5, labels: {}, ts: NOW },
      { name: 'temperature_max', value: 30, labels: {}, ts: NOW },
    ]);
  });

  it('applies the timestamp precision', () => {
    const line = (ts: string) => `m v=1 ${ts}`;
    assert.equal(parseInfluxLines(line('1700000000123456789'), NOW, 'ns').samples[0].ts, 1700000000123);
    assert.equal(parseInfluxLines(line('1700000000123456'), NOW, 'us').samples[0].ts, 1700000000123);
    assert.equal(parseInfluxLines(line('1700000000123'), NOW, 'ms').samples[0].ts, 1700000000123);
    assert.equal(parseInfluxLines(line('1700000000'), NOW, 's').samples[0].ts, 1700000000000);
    assert.equal(parseInfluxLines(line('999'), NOW, 'ns').samples[0].ts, 0);
    assert.throws(() => parseInfluxLines('m v=1', NOW, 'h' as 'ns'), TypeError);
  });

  it('unescapes measurement, tags, field keys and string fields', () => {
    const body = [
      'my\\ meas\\,ure,tag\\ key=tag\\,val\\=ue,path=C:\\dir field\\=key=1,s="quoted \\"string\\", with, commas and spaces",b=F',
    ].join('\n');
    const r = parseInfluxLines(body, NOW);
    assert.deepEqual(r.errors, []);
    assert.equal(r.skippedStringFields, 1);
    assert.deepEqual(
      r.samples.map((s) => [s.name, s.value]),
      [
        ['my_meas_ure_field_key', 1],
        ['my_meas_ure_b', 0],
      ],
    );
    assert.deepEqual(r.samples[0].labels, { tag_key: 'tag,val=ue', path: 'C:\\dir' });
  });

  it('sanitises names and keeps dots in measurements', () => {
    const r = parseInfluxLines('disk-io.stats,dev-name=sda 1read=5i,Bytes/sec=2', NOW);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.samples.map((s) => s.name),
      ['disk_io.stats__1read', 'disk_io.stats_Bytes_sec'],
    );
    assert.deepEqual(r.samples[0].labels, { dev_name: 'sda' });
  });

  it('handles integers, booleans and float syntaxes', () => {
    const r = parseInfluxLines('m a=-3i,b=4294967296u,c=t,d=TRUE,e=False,f=-1.5e3,g=.5,h=1', NOW);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.samples.map((s) => s.value),
      [-3, 4294967296, 1, 1, 0, -1500, 0.5, 1],
    );
  });

  it('rejects malformed lines with line numbers and keeps the good ones', () => {
    const lines = [
      'ok v=1', // 1
      'nofields', // 2
      'm,tag v=1', // 3: tag without =
      'm,t= v=1', // 4: empty tag value
      'm v=', // 5: missing value
      'm v=abc', // 6
      'm v=1.5i', // 7: bad integer
      'm v=-1u', // 8: negative unsigned
      'm v="unterminated', // 9
      'm v=1 12.5', // 10: bad timestamp
      'm v=1 123 456', // 11: trailing text
      'm,__x=1 v=1', // 12: reserved label
      'm,a=1,a=2 v=1', // 13: duplicate tag
      'm v=NaN', // 14: NaN not allowed
      'm v=1,=2', // 15: empty field key
      '  # a comment', // 16
      ',t=1 v=1', // 17: missing measurement
      'm v=1 -5', // 18: before the epoch
      'm v=1x', // 19
      'also_ok,t=x y=2i 1700000000000000000', // 20
      'm a..b=1', // 21: empty name segment after mapping
      'm,a=1,b="x" v=1', // 22: quotes are literal in tag values, fine
      'm v=1,w', // 23
    ];
    const r = parseInfluxLines(lines.join('\r\n'), NOW);
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 21, 23],
    );
    assert.deepEqual(
      r.samples.map((s) => s.name),
      ['ok_v', 'also_ok_y', 'm_v'],
    );
    const byLine = new Map(r.errors.map((e) => [e.line, e.message]));
    assert.match(byLine.get(2)!, /missing fields/);
    assert.match(byLine.get(6)!, /invalid value "abc" for field "v"/);
    assert.match(byLine.get(9)!, /unterminated string/);
    assert.match(byLine.get(12)!, /reserved/);
    assert.match(byLine.get(13)!, /duplicate tag "a"/);
    assert.match(byLine.get(21)!, /empty segment/);
  });

  it('keeps a line atomic: a bad later field drops the earlier ones too', () => {
    const r = parseInfluxLines('m a=1,b=2,c=oops', NOW);
    assert.equal(r.samples.length, 0);
    assert.equal(r.errors.length, 1);
  });

  it('does not let tag keys pollute prototypes', () => {
    const r = parseInfluxLines('m,__proto__=x v=1\nm,constructor=c v=1', NOW);
    assert.equal(r.errors.length, 1);
    assert.deepEqual(Object.keys(r.samples[0].labels), ['constructor']);
    assert.equal(Object.getPrototypeOf(r.samples[0].labels), Object.prototype);
  });

  it('a line whose head starts like the guess from the previous body is read as its own series', () => {
    const names = (body: string) =>
      parseInfluxLines(body, NOW).samples.map((x) => `${x.name}${JSON.stringify(x.labels)}=${x.value}`);
    // Each body teaches the parser which head followed `first`; the next line is checked against that guess.
    assert.deepEqual(names('first value=0\nm,host=a value=1'), ['first{}=0', 'm{"host":"a"}=1']);
    assert.deepEqual(names('first value=0\nm,host=a value=2'), ['first{}=0', 'm{"host":"a"}=2']);
    assert.deepEqual(names('first value=0\nm,host=a\\ b value=3'), ['first{}=0', 'm{"host":"a b"}=3']);
    assert.deepEqual(names('first value=0\nm,host=a value=4'), ['first{}=0', 'm{"host":"a"}=4']);
    assert.deepEqual(names('first value=0\nm,host=ab value=5'), ['first{}=0', 'm{"host":"ab"}=5']);
    assert.deepEqual(names('first value=0\nm,host=a value=5'), ['first{}=0', 'm{"host":"a"}=5']);
    assert.deepEqual(names('first value=0\nm,host=a,x=1 value=6'), ['first{}=0', 'm{"host":"a","x":"1"}=6']);
    assert.deepEqual(names('first value=0\nm,host=a'), ['first{}=0']);
  });

  it('series keep their samples when the order of lines changes from body to body', () => {
    const heads = Array.from({ length: 50 }, (_, i) => `cpu,host=h${i}`);
    const order = heads.map((_, i) => i);
    for (let round = 0; round < 6; round++) {
      if (round % 2 === 1) order.reverse();
      if (round === 4) order.sort((a, b) => ((a * 7919) % 50) - ((b * 7919) % 50));
      const body = order.map((i) => `${heads[i]} value=${i + round / 10}`).join('\n');
      const r = parseInfluxColumns(body, NOW);
      assert.deepEqual(r.errors, []);
      for (let k = 0; k < order.length; k++) {
        const i = order[k]!;
        assert.deepEqual(r.columns.slots[k]!.labels, { host: `h${i}` });
        assert.equal(r.columns.values[k], i + round / 10);
      }
    }
  });
});
