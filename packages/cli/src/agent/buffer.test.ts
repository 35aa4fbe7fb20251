/**
 * @module buffer.test
 * The agent's SampleBuffer on real files: order across memory and disk, segments rolled and deleted, the size and
 * age bounds (and their drop counts), and segments of an earlier run taken up at start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { type Batch, SampleBuffer } from './buffer.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-agent-buffer-'));
  dirs.push(d);
  return d;
}

function batch(ts: number, n = 3): Batch {
  return { ts, samples: Array.from({ length: n }, (_, i) => ({ name: `m.${i}`, value: ts + i, labels: { k: 'v' } })) };
}

function drain(b: SampleBuffer): number[] {
  const out: number[] = [];
  for (let x = b.peek(); x !== undefined; x = b.peek()) {
    out.push(x.ts);
    b.shift();
  }
  return out;
}

describe('agent SampleBuffer', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test('keeps order across memory and disk, also while batches arrive during the drain', () => {
    const d = dir();
    const now = 10_000;
    const b = new SampleBuffer({
      dir: d,
      maxBytes: 1 << 20,
      maxAgeMs: 1e9,
      memoryBatches: 4,
      segmentBytes: 600,
      now: () => now,
    });
    for (let i = 1; i <= 3; i++) b.push(batch(i));
    assert.equal(b.onDisk, false, 'a few batches stay in memory');
    for (let i = 4; i <= 40; i++) b.push(batch(i));
    assert.ok(b.onDisk);
    assert.ok(readdirSync(d).length > 2, 'segments roll');
    const seen: number[] = [];
    // Take half, then more arrive: they queue behind what is on disk.
    for (let i = 0; i < 20; i++) {
      seen.push(b.peek()!.ts);
      b.shift();
    }
    for (let i = 41; i <= 50; i++) b.push(batch(i));
    seen.push(...drain(b));
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(b.onDisk, false);
    assert.deepEqual(readdirSync(d), [], 'segments are deleted once taken');
    // Back in memory mode.
    b.push(batch(51));
    assert.equal(b.onDisk, false);
    assert.equal(b.dropped, 0);
  });

  test('holds at most maxBytes on disk, dropping the oldest segments and counting the batches', () => {
    const d = dir();
    const b = new SampleBuffer({
      dir: d,
      maxBytes: 20_000,
      maxAgeMs: 1e9,
      memoryBatches: 0,
      segmentBytes: 2_000,
      now: () => 0,
    });
    for (let i = 1; i <= 500; i++) b.push(batch(i));
    assert.ok(b.diskBytes <= 20_000 + 2_000, `${b.diskBytes} bytes on disk`);
    const left = drain(b);
    assert.equal(left.at(-1), 500, 'the newest batches are kept');
    assert.equal(left.length + b.dropped, 500, 'every batch is either kept or counted as dropped');
    assert.ok(b.dropped > 0);
    assert.deepEqual(
      left,
      [...left].sort((x, y) => x - y),
    );
    assert.equal(new Set(left).size, left.length);
  });

  test('drops batches older than maxAgeMs when they reach the head', () => {
    const d = dir();
    let now = 1_000;
    const b = new SampleBuffer({ dir: d, maxBytes: 1 << 20, maxAgeMs: 5_000, memoryBatches: 2, now: () => now });
    for (let ts = 1_000; ts <= 10_000; ts += 1_000) b.push(batch(ts));
    now = 12_000;
    assert.deepEqual(drain(b), [7_000, 8_000, 9_000, 10_000]);
    assert.equal(b.dropped, 6);
  });

  test('takes up the segments of an earlier run, skipping a line cut short', () => {
    const d = dir();
    const first = new SampleBuffer({
      dir: d,
      maxBytes: 1 << 20,
      maxAgeMs: 1e9,
      memoryBatches: 0,
      segmentBytes: 400,
      now: () => 0,
    });
    for (let i = 1; i <= 10; i++) first.push(batch(i));
    first.push(batch(11));
    first.spill();
    const last = readdirSync(d)
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
      .at(-1)!;
    writeFileSync(join(d, last), '{"ts":12,"samp', { flag: 'a' });
    const second = new SampleBuffer({ dir: d, maxBytes: 1 << 20, maxAgeMs: 1e9, now: () => 0 });
    assert.ok(second.onDisk);
    second.push(batch(13));
    assert.deepEqual(drain(second), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
  });
});
