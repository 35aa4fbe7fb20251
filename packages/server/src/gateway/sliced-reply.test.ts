/**
 * @module sliced-reply.test
 * A reply encoded a slice at a time has exactly the bytes of the same reply encoded whole, in JSON and MessagePack,
 * for arrays around each MessagePack array-header size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codecFor } from '@vigil/protocol';
import { encodeSliced, SLICE_ITEMS, slicedKey } from './sliced-reply.js';

const series = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    labels: { host: `h${i}`, note: 'ü "quoted" \\ \u0001' },
    points: [
      [1_700_000_000_000 + i, i / 3],
      [1_700_000_001_000 + i, null],
    ],
  }));

test('only a result with a long top-level array is sliced', () => {
  assert.equal(slicedKey({ series: series(SLICE_ITEMS) }), undefined);
  assert.equal(slicedKey({ metric: 'm', series: series(SLICE_ITEMS + 1) }), 'series');
  assert.equal(slicedKey([1, 2, 3]), undefined);
  assert.equal(slicedKey('text'), undefined);
});

for (const encoding of ['json', 'msgpack'] as const) {
  test(`${encoding}: the sliced reply has the bytes of the whole one`, async () => {
    const codec = codecFor(encoding);
    for (const n of [0, 15, 16, 65_535, 65_536]) {
      const frame = {
        type: 'reply',
        id: 7,
        ok: true,
        result: { metric: 'q', step: 1000, series: series(n), tier: 'raw' },
      };
      const sliced = await encodeSliced(codec, frame, 'series');
      assert.ok(sliced.equals(codec.encode(frame)), `${n} items`);
      assert.deepEqual(codec.decode(sliced), codec.decode(codec.encode(frame)));
    }
  });
}
