/**
 * @module metrics/ingest/influx-parallel.test
 * The line protocol parse thread: the same samples and errors as the main thread's parser, through slot renumbering;
 * a thread that fails refuses what waits on it; and a hub ingests a large body parsed on two threads exactly as one
 * parsed on one, errors naming lines of the whole body.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub } from '../../testing/hub-fixture.js';
import { type InfluxColumnsResult, parseInfluxColumns } from './influx-line.js';
import { CostPerByte, cutPoint, InfluxParseThread, mainShare, PARALLEL_MIN_BYTES } from './influx-parallel.js';

const T0 = 1_700_000_000_000;

/** What a parse result says, slot objects aside. */
function plain(r: InfluxColumnsResult) {
  const samples = [];
  for (let i = 0; i < r.columns.length; i++) {
    const slot = r.columns.slots[i]!;
    samples.push([slot.name, JSON.stringify(slot.labels), r.columns.ts[i], r.columns.values[i]]);
  }
  return { samples, errors: r.errors, lines: r.lines, skipped: r.skippedStringFields };
}

function body(round: number, series: number): string {
  const lines: string[] = [];
  for (let i = 0; i < series; i++) {
    const s = (i * 7 + round * 13) % (series * 2);
    lines.push(`thread_m,host=h${s},round=r${round % 3} value=${i + round / 4},other=${i}i,note="x" ${T0 + round}`);
    if (i % 9 === 4) lines.push(`bad line ${i}`);
    if (i % 11 === 0) lines.push('# a comment', '');
  }
  return lines.join('\n');
}

describe('line protocol parse thread', () => {
  test('gives the samples, errors and line counts the main thread gives, its slot numbers started anew', async () => {
    const thread = new InfluxParseThread({ maxSlots: 64 });
    try {
      for (let round = 0; round < 8; round++) {
        const text = body(round, 20 + round * 3);
        const mine = parseInfluxColumns(text, T0, 'ms');
        const theirs = await thread.parse(Buffer.from(text), T0, 'ms');
        assert.deepEqual(plain(theirs), plain(mine), `round ${round}`);
        // Samples of one series share one slot, as they do on the main thread.
        const byKey = new Map<string, object>();
        for (let i = 0; i < theirs.columns.length; i++) {
          const slot = theirs.columns.slots[i]!;
          const key = `${slot.name}${JSON.stringify(slot.labels)}`;
          assert.equal(byKey.get(key) ?? slot, slot, key);
          byKey.set(key, slot);
          assert.ok(Object.isFrozen(slot.labels));
        }
      }
    } finally {
      await thread.close();
    }
    assert.equal(thread.available, false);
    await assert.rejects(thread.parse(Buffer.from('m value=1'), T0, 'ms'), /not running/);
  });

  test('a thread that fails refuses the requests waiting on it and is not used again', async () => {
    const failures: Error[] = [];
    const thread = new InfluxParseThread({
      workerUrl: new URL('./no-such-worker.js', import.meta.url),
      onFailure: (err) => failures.push(err),
    });
    await assert.rejects(thread.parse(Buffer.from('m value=1 1'), T0, 'ms'));
    assert.equal(thread.available, false);
    assert.equal(failures.length, 1);
    await thread.close();
  });

  test('the main thread takes the share that lets both threads finish together', () => {
    const main = new CostPerByte();
    const thread = new CostPerByte();
    assert.equal(mainShare(main, thread), 1 / 3, 'a third until both are measured');
    main.add(2, 1000);
    thread.add(1, 1000);
    // 2 ms per KB on the main thread, 1 on the other: the main thread takes a third, so both take 2/3 ms per KB.
    assert.ok(Math.abs(mainShare(main, thread) - 1 / 3) < 1e-9);
    for (let i = 0; i < 50; i++) thread.add(6, 1000);
    assert.ok(Math.abs(mainShare(main, thread) - 0.75) < 1e-3, String(mainShare(main, thread)));
    for (let i = 0; i < 50; i++) thread.add(1000, 1000);
    assert.equal(mainShare(main, thread), 0.9, 'at most nine tenths');
    thread.add(Number.NaN, 1000);
    thread.add(1, 0);
    assert.ok(Number.isFinite(thread.value));
  });

  test('cutPoint cuts just after a newline, at or past the share asked for', () => {
    const text = Buffer.from('aaaa\nbbbb\ncccc\n');
    assert.equal(cutPoint(text, 0), 5);
    assert.equal(cutPoint(text, 1 / 3), 10);
    assert.equal(cutPoint(text, 0.99), 15);
    assert.equal(cutPoint(Buffer.from('no newline'), 0.5), 10);
  });
});

describe('a hub ingesting large line protocol bodies', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0 } });
  });
  after(() => h.stop());

  async function write(text: string) {
    const res = await fetch(`${h.url}/api/v1/write/influx?precision=ms`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: text,
    });
    return {
      status: res.status,
      body: (await res.json()) as { accepted: number; rejected: number; errors: { line: number }[] },
    };
  }

  /** A body of `series` series at `ts`, a bad line every 997 lines. */
  function large(prefix: string, series: number, ts: number): { text: string; bad: number[] } {
    const lines: string[] = [];
    const bad: number[] = [];
    for (let i = 0; i < series; i++) {
      if (i % 997 === 500) {
        lines.push(`${prefix} oops`);
        bad.push(lines.length);
      }
      lines.push(`${prefix},host=h${i} value=${i * 0.25} ${ts}`);
    }
    return { text: lines.join('\n'), bad };
  }

  test('samples and errors are the same whichever thread parsed their part', async () => {
    const series = 4000;
    const first = large('big_parallel', series, Date.now() - 60_000);
    assert.ok(first.text.length >= PARALLEL_MIN_BYTES * 2, 'the body is cut in two');
    const a = await write(first.text);
    assert.equal(a.status, 200);
    assert.deepEqual([a.body.accepted, a.body.rejected], [series, first.bad.length]);
    assert.deepEqual(
      a.body.errors.map((e) => e.line),
      first.bad,
    );
    // The thread took part wherever the machine has a second core.
    const thread = h.hub.metricsService.parseThread;
    assert.equal(thread.parsed > 0, os.availableParallelism() >= 2);
    const current = h.hub.metricsService.current({ prefix: 'big_parallel' });
    assert.equal(current.length, series);
    for (const c of current) assert.equal(c.value, Number(c.labels.host!.slice(1)) * 0.25);

    // With the thread stopped, the main thread parses the whole body: the same answer.
    await thread.close();
    const parsed = thread.parsed;
    const second = large('big_parallel', series, Date.now() - 30_000);
    const b = await write(second.text);
    assert.deepEqual([b.status, b.body.accepted, b.body.rejected], [200, series, second.bad.length]);
    assert.deepEqual(
      b.body.errors.map((e) => e.line),
      second.bad,
    );
    assert.equal(thread.parsed, parsed);
  });
});
