/**
 * @module subscription-churn.test
 * Subscription changes are charged by pattern count: a connection that sends subscribe/unsubscribe frames of 1,000
 * patterns each, well under the frame rate limit, gets only as many pattern changes as its token bucket holds; the
 * rest are refused with `rate_limited` (and, repeated, close it with 4029). A bystander keeps being served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

let h: RunningHub;
before(async () => {
  // 100 tokens/s, bursts of 5,000: five subscribes of 1,000 patterns at once, then one every 10 s.
  h = await startHub({
    metrics: { collect_interval: 0 },
    gateway: { rate_limit: { messages_per_s: 100, burst: 5000, max_violations: 1000 } },
  });
});
after(() => h.stop());

const patterns = (round: number) => Array.from({ length: 1000 }, (_, i) => `churn.r${round % 2}.p${i}`);

test('subscribe/unsubscribe churn is charged one token per pattern', async () => {
  const attacker = await TestClient.connect(h.wsUrl);
  const bystander = await TestClient.connect(h.wsUrl);
  const started = Date.now();
  const frames = 40;
  for (let i = 0; i < frames; i++) {
    attacker.send({ op: i % 2 ? 'unsubscribe' : 'subscribe', id: i, channels: patterns(i) });
  }
  bystander.send({ op: 'ping', id: 'bystander' });
  const pong = bystander.next((f) => f.type === 'pong' && f.id === 'bystander', 60_000);
  const replies = await Promise.all(
    Array.from({ length: frames }, (_, i) => attacker.next((f) => f.type === 'reply' && f.id === i, 60_000)),
  );
  const elapsedS = (Date.now() - started) / 1000;
  assert.equal((await pong).type, 'pong', 'the bystander is answered');
  const ok = replies.filter((r) => r.ok === true).length;
  const limited = replies.filter((r) => (r.error as { code?: string } | undefined)?.code === 'rate_limited');
  // The bucket holds 5,000 tokens and refills 100/s: 5 frames of 1,000 patterns, plus one per 10 s that passed.
  const allowance = 5 + Math.floor(elapsedS / 10) + 1;
  assert.ok(ok <= allowance, `${ok} of ${frames} frames of 1,000 patterns were served (allowance ${allowance})`);
  assert.equal(ok + limited.length, frames);
  const details = limited[0]!.error as { details?: { retry_after_ms?: number } };
  assert.ok((details.details?.retry_after_ms ?? 0) >= 9000, 'the refusal says how long 1,000 patterns take to earn');
  attacker.close();
  bystander.close();
});

describe('the subscription budget of a client, over all its connections', () => {
  const FIRST = 'churn-first-key-0123456789';
  const SECOND = 'churn-second-key-0123456789';
  let hub: RunningHub;
  before(async () => {
    // Each client may change 1 pattern a second, 5 at once; each connection alone could change 100,000 at once.
    hub = await startHub({
      metrics: { collect_interval: 0 },
      auth: {
        api_keys: [
          { name: 'first', key: FIRST, scopes: ['read'] },
          { name: 'second', key: SECOND, scopes: ['read'] },
        ],
      },
      gateway: { rate_limit: { messages_per_s: 100_000, burst: 100_000, max_violations: 3 } },
      limits: { subscription_changes_per_s: 1 },
    });
  });
  after(() => hub.stop());

  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}.${i}`);
  const code = (reply: Record<string, unknown>) => (reply.error as { code?: string } | undefined)?.code;

  test('reconnecting, more connections or an SSE stream buy no more churn; another credential is not charged', async () => {
    const a = await TestClient.connect(`${hub.wsUrl}?token=${FIRST}`);
    assert.equal((await a.request({ op: 'subscribe', channels: names('budget.a', 5) })).ok, true);
    a.close();
    // A new connection with the same credential finds the bucket where the last one left it.
    const b = await TestClient.connect(`${hub.wsUrl}?token=${FIRST}`);
    const c = await TestClient.connect(`${hub.wsUrl}?token=${FIRST}`);
    const refused = await b.request({ op: 'subscribe', channels: names('budget.b', 50) });
    assert.equal(code(refused), 'rate_limited', JSON.stringify(refused));
    const details = (refused.error as { details?: { retry_after_ms?: number } }).details;
    assert.ok((details?.retry_after_ms ?? 0) >= 4000, 'the refusal says when the budget is full again');
    assert.equal(code(await c.request({ op: 'subscribe', channels: names('budget.c', 50) })), 'rate_limited');
    // An SSE stream of the same credential draws on the same budget.
    const sse = await fetch(`${hub.url}/api/v1/stream?channels=${names('budget.s', 50).join(',')}`, {
      headers: { authorization: `Bearer ${FIRST}` },
    });
    assert.equal(sse.status, 429);
    assert.ok(Number(sse.headers.get('retry-after')) >= 4);
    assert.equal(((await sse.json()) as { error: { code: string } }).error.code, 'rate_limited');
    // The other credential has its own budget.
    const other = await TestClient.connect(`${hub.wsUrl}?token=${SECOND}`);
    assert.equal((await other.request({ op: 'subscribe', channels: names('budget.o', 5) })).ok, true);
    // Refusals count as violations: the third closes the connection with 4029.
    b.send({ op: 'subscribe', id: 'again', channels: names('budget.b', 50) });
    b.send({ op: 'subscribe', id: 'and-again', channels: names('budget.b', 50) });
    const closing = await b.next((f) => f.type === 'closing', 10_000);
    assert.equal(closing.code, 4029);
    c.close();
    other.close();
  });
});
