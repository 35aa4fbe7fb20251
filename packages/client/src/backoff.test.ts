/**
 * @module backoff.test
 * Full jitter stays within its bounds: per attempt, 10,000 seeded draws all fall in [0, cap), their mean is near
 * cap / 2, and a Kolmogorov-Smirnov test does not reject uniformity. The client's reconnects use the same helper.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, backoffCap, DEFAULT_MAX_DELAY_MS, DEFAULT_MIN_DELAY_MS, fullJitter } from './backoff.js';
import { VigilClient } from './client.js';
import { FakeServer, until } from './testing/fake-server.js';
import { seededRandom } from './testing/seeded-random.js';

const DRAWS = 10_000;
/** KS critical value at alpha = 0.001: 1.95 / sqrt(n). */
const KS_CRITICAL = 1.95 / Math.sqrt(DRAWS);

describe('full-jitter backoff', () => {
  test('caps double from 500 ms and stop at 20 s', () => {
    const caps = Array.from({ length: 9 }, (_, i) => backoffCap(i, DEFAULT_MIN_DELAY_MS, DEFAULT_MAX_DELAY_MS));
    assert.deepEqual(caps, [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
    assert.equal(backoffCap(5000, 500, 20_000), 20_000, 'no overflow');
  });

  for (let attempt = 0; attempt <= 7; attempt++) {
    test(`attempt ${attempt}: ${DRAWS} draws are uniform on [0, cap)`, () => {
      const cap = backoffCap(attempt, DEFAULT_MIN_DELAY_MS, DEFAULT_MAX_DELAY_MS);
      const random = seededRandom(0x5eed + attempt);
      const draws = Array.from({ length: DRAWS }, () => fullJitter(attempt, { random }));
      for (const d of draws) assert.ok(d >= 0 && d < cap, `${d} outside [0, ${cap})`);
      const mean = draws.reduce((a, b) => a + b, 0) / DRAWS;
      // The standard error of the mean of U(0, cap) is cap / sqrt(12 n) ~ 0.29% of cap; allow 2%.
      assert.ok(Math.abs(mean - cap / 2) < cap * 0.02, `mean ${mean} not near ${cap / 2}`);
      draws.sort((a, b) => a - b);
      let d = 0;
      for (let i = 0; i < DRAWS; i++) {
        const f = draws[i]! / cap;
        d = Math.max(d, (i + 1) / DRAWS - f, f - i / DRAWS);
      }
      assert.ok(d < KS_CRITICAL, `KS statistic ${d.toFixed(4)} >= ${KS_CRITICAL.toFixed(4)}`);
    });
  }

  test('custom bounds hold with Math.random too', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = backoffCap(attempt, 10, 300);
      for (let i = 0; i < 1000; i++) {
        const d = fullJitter(attempt, { minDelayMs: 10, maxDelayMs: 300 });
        assert.ok(d >= 0 && d < cap);
      }
    }
  });

  test('Backoff counts attempts and resets', () => {
    const b = new Backoff({ minDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
    const delays = [b.next(), b.next(), b.next(), b.next(), b.next()].map(Math.round);
    assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
    assert.equal(b.attempts, 5);
    b.reset();
    assert.equal(Math.round(b.next()), 100);
  });

  test('the client draws its reconnect delays from the helper', async () => {
    const server = await FakeServer.start();
    const draws: number[] = [];
    const c = new VigilClient({
      url: server.url,
      backoff: {
        minDelayMs: 20,
        maxDelayMs: 80,
        random: () => {
          draws.push(1);
          return 0.5;
        },
      },
    });
    try {
      server.refuse = 4;
      const delays: number[] = [];
      c.on('reconnecting', (e) => delays.push(e.delayMs));
      c.connect();
      await until(() => c.state === 'connected', 10_000, 'connected');
      // Four failures: 10 + 20 + 40 + 40 ms at random() = 0.5.
      assert.equal(draws.length, 4);
      assert.deepEqual(delays, [10, 20, 40, 40]);
    } finally {
      c.close();
      await server.stop();
    }
  });
});
