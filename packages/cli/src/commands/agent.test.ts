/**
 * @module agent-command.test
 * `vigil agent` flags: help, and usage errors (exit 2) for a missing hub, bad labels, intervals, host ids and
 * buffer sizes. The agent itself runs as real processes in agent/fleet-agents.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vigil } from '../testing/cli-fixture.js';
import { parseDurationFlag, parseLabels } from './agent.js';

describe('vigil agent flags', () => {
  test('--help lists the flags', async () => {
    const r = await vigil(['agent', '--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--hub',
      '--token',
      '--interval',
      '--labels',
      '--host-id',
      '--buffer-dir',
      '--buffer-max-bytes',
    ]) {
      assert.match(r.out(), new RegExp(flag));
    }
  });

  test('bad flags are usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['agent'], /--hub is required/],
      [['agent', '--hub', 'ftp://x'], /expected http/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--labels', 'novalue'], /--labels/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--labels', 'host=x'], /not 'host'/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--interval', '10ms'], /at least 100ms/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--interval', 'soon'], /not a duration/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--host-id', 'a.b'], /--host-id/],
      [['agent', '--hub', 'http://127.0.0.1:9', '--buffer-max-bytes', '10'], /at least 65536/],
      [['agent', '--hub', 'http://127.0.0.1:9', 'extra'], /unexpected argument/],
    ];
    for (const [args, message] of cases) {
      const r = await vigil(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err(), message, args.join(' '));
    }
  });

  test('labels and durations parse', () => {
    assert.deepEqual(parseLabels(['role=web,dc=eu', 'tier=1']), { role: 'web', dc: 'eu', tier: '1' });
    const many = Array.from({ length: 17 }, (_, i) => `l${i}=v`).join(',');
    assert.throws(() => parseLabels([many]), /at most 16/);
    assert.equal(parseDurationFlag('--interval', '1.5s'), 1500);
    assert.equal(parseDurationFlag('--interval', '250'), 250);
    assert.equal(parseDurationFlag('--interval', '24h'), 86_400_000);
  });
});
