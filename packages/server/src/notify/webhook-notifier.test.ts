/**
 * @module webhook-notifier.test
 * Webhook notifications on fake time against a real HTTP receiver: grouping by labels, group_wait batching,
 * group_interval, repeat_interval, resolved notifications, silences, retries and the dead-letter log. Alerts come
 * from a scripted AlertBus (test-support.ts) that stands in for the rule engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Fastify from 'fastify';
import { installErrorHandler } from '../http/error-handler.js';
import { SqliteStateStore } from '../storage/sqlite-state-store.js';
import type { WebhookConfig } from './config.js';
import { createNotifiers, type Notifications } from './index.js';
import type { AlertmanagerPayload } from './payload.js';
import { FakeScheduler, RecordingServer, ScriptedAlertBus, until } from './test-support.js';

const S = 1000;
const M = 60 * S;

describe('WebhookNotifier', () => {
  let dir: string;
  let db: SqliteStateStore;
  let server: RecordingServer;
  let fake: FakeScheduler;
  let bus: ScriptedAlertBus;
  let n: Notifications | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-notify-'));
    db = new SqliteStateStore({ path: join(dir, 'state.db') }).openSync();
    server = await new RecordingServer().start();
    fake = new FakeScheduler();
    bus = new ScriptedAlertBus(() => fake.now());
  });

  afterEach(async () => {
    await n?.part.stop?.();
    n = undefined;
    await server.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(webhook: Partial<WebhookConfig> = {}): Notifications {
    const config: WebhookConfig = {
      url: `${server.url}/hook`,
      name: 'ops',
      groupBy: ['alertname'],
      groupWaitMs: 30 * S,
      groupIntervalMs: 5 * M,
      repeatIntervalMs: 4 * 60 * M,
      sendResolved: true,
      timeoutMs: 2 * S,
      maxAttempts: 3,
      backoffMs: S,
      ...webhook,
    };
    n = createNotifiers(
      {
        config: { notifications: { webhooks: [config], externalUrl: 'http://vigil.test' }, host: '127.0.0.1', port: 1 },
        state: db,
      },
      bus,
      { scheduler: fake, random: () => 1 },
    );
    return n;
  }

  /** Moves fake time, then waits for deliveries it started to finish. */
  async function advance(ms: number): Promise<void> {
    fake.advance(ms);
    await until(() => n!.notifiers.every((x) => x.stats().in_flight === 0), 'deliveries to finish');
  }

  const payloads = () => server.bodies<AlertmanagerPayload>();

  test('group_wait batches alerts of one group into one notification, in the Alertmanager v4 format', async () => {
    setup();
    const t0 = fake.now();
    const a = bus.fire({ rule: 'HighCPU', severity: 'critical', labels: { host: 'a', team: 'web' } });
    bus.pend({ rule: 'HighCPU', labels: { host: 'p' } });
    await advance(10 * S);
    const b = bus.fire({ rule: 'HighCPU', severity: 'critical', labels: { host: 'b', team: 'web' } }, true);
    bus.fire({ rule: 'DiskFull', labels: { host: 'a' } });
    await advance(19 * S);
    assert.equal(server.requests.length, 0, 'nothing before group_wait');
    await advance(S);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.method, 'POST');
    assert.equal(server.requests[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(payloads()[0], {
      version: '4',
      groupKey: '{}:{alertname="HighCPU"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'ops',
      groupLabels: { alertname: 'HighCPU' },
      commonLabels: { alertname: 'HighCPU', severity: 'critical', team: 'web' },
      commonAnnotations: {},
      externalURL: 'http://vigil.test',
      alerts: [a, b].map((x, i) => ({
        status: 'firing',
        labels: { alertname: 'HighCPU', host: i === 0 ? 'a' : 'b', severity: 'critical', team: 'web' },
        annotations: {},
        startsAt: new Date(t0 + i * 10 * S).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `http://vigil.test/api/v1/alerts/${x.id}`,
        fingerprint: x.fingerprint,
      })),
    });
    await advance(10 * S);
    assert.equal(server.requests.length, 2, 'the DiskFull group waited its own group_wait');
    assert.equal(payloads()[1]!.groupKey, '{}:{alertname="DiskFull"}');
    assert.equal(payloads()[1]!.alerts.length, 1);
  });

  test('group_by labels split groups; a changed group waits for group_interval', async () => {
    setup({ groupBy: ['alertname', 'host'] });
    bus.fire({ rule: 'HighCPU', labels: { host: 'a', core: '0' } });
    bus.fire({ rule: 'HighCPU', labels: { host: 'a', core: '1' } });
    bus.fire({ rule: 'HighCPU', labels: { host: 'b' } });
    await advance(30 * S);
    const keys = payloads().map((p) => [p.groupKey, p.alerts.length]);
    assert.deepEqual(keys.sort(), [
      ['{}:{alertname="HighCPU", host="a"}', 2],
      ['{}:{alertname="HighCPU", host="b"}', 1],
    ]);
    assert.deepEqual(payloads().find((p) => p.alerts.length === 1)!.groupLabels, { alertname: 'HighCPU', host: 'b' });

    await advance(M);
    bus.fire({ rule: 'HighCPU', labels: { host: 'a', core: '2' } });
    await advance(4 * M - S);
    assert.equal(server.requests.length, 2, 'no notification before group_interval');
    await advance(S);
    assert.equal(server.requests.length, 3);
    assert.equal(payloads()[2]!.alerts.length, 3);
    assert.equal(payloads()[2]!.groupLabels.host, 'a');
  });

  test('an unchanged firing group is repeated after repeat_interval', async () => {
    setup({ groupIntervalMs: M, repeatIntervalMs: 10 * M });
    bus.fire({ rule: 'HighCPU' });
    await advance(30 * S);
    assert.equal(server.requests.length, 1);
    await advance(9 * M);
    assert.equal(server.requests.length, 1, 'unchanged: no repeat yet');
    await advance(M);
    assert.equal(server.requests.length, 2, 'repeated at repeat_interval');
    assert.deepEqual(payloads()[1]!.alerts, payloads()[0]!.alerts);
    await advance(10 * M);
    assert.equal(server.requests.length, 3);
  });

  test('resolved alerts are sent with send_resolved, and the group ends', async () => {
    setup({ groupIntervalMs: M });
    const a = bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    const b = bus.fire({ rule: 'HighCPU', labels: { host: 'b' } });
    await advance(30 * S);
    await advance(10 * S);
    bus.resolve(a.id);
    await advance(50 * S);
    assert.equal(server.requests.length, 2);
    const partial = payloads()[1]!;
    assert.equal(partial.status, 'firing');
    assert.deepEqual(
      partial.alerts.map((x) => [x.labels.host, x.status, x.endsAt]),
      [
        ['b', 'firing', '0001-01-01T00:00:00Z'],
        ['a', 'resolved', new Date(fake.now() - 50 * S).toISOString()],
      ],
    );
    bus.resolve(b.id);
    await advance(M);
    const last = payloads()[2]!;
    assert.equal(last.status, 'resolved');
    assert.deepEqual(
      last.alerts.map((x) => [x.labels.host, x.status]),
      [['b', 'resolved']],
    );
    assert.equal(n!.notifiers[0]!.stats().groups, 0, 'an empty group is dropped');
    await advance(60 * M);
    assert.equal(server.requests.length, 3);
  });

  test('without send_resolved, resolutions are not sent', async () => {
    setup({ groupIntervalMs: M, sendResolved: false });
    const a = bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    const b = bus.fire({ rule: 'HighCPU', labels: { host: 'b' } });
    await advance(30 * S);
    bus.resolve(a.id);
    await advance(M);
    bus.resolve(b.id);
    await advance(M);
    assert.equal(server.requests.length, 1);
    assert.equal(n!.notifiers[0]!.stats().groups, 0);
  });

  test('silenced alerts are not sent; when the silence ends they are', async () => {
    setup({ groupIntervalMs: M });
    const a = bus.fire({ rule: 'Quiet', silenced: true });
    await advance(10 * M);
    assert.equal(server.requests.length, 0, 'a silenced alert opens no group');
    const b = bus.fire({ rule: 'Loud' });
    bus.fire({ rule: 'Loud', labels: { x: '1' } });
    bus.silence(b.id, true);
    await advance(30 * S);
    assert.equal(payloads()[0]!.alerts.length, 1, 'the silenced one is left out of its group');
    bus.silence(a.id, false);
    await advance(30 * S);
    assert.equal(payloads()[1]!.groupLabels.alertname, 'Quiet');
    bus.silence(b.id, false);
    await advance(M);
    assert.equal(payloads()[2]!.alerts.length, 2, 'b joins its group notification once unsilenced');
  });

  test('a 500 is retried with backoff and then succeeds', async () => {
    setup({ maxAttempts: 3, backoffMs: 2 * S });
    server.failNext = 1;
    bus.fire({ rule: 'HighCPU' });
    fake.advance(30 * S);
    await until(() => server.requests.length === 1 && fake.pending() === 1, 'first attempt and its backoff timer');
    fake.advance(2 * S - 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.requests.length, 1, 'waits out the backoff');
    await advance(1);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[1]!.body, server.requests[0]!.body);
    assert.deepEqual(n!.notifiers[0]!.stats(), { sent: 1, failed: 0, groups: 1, in_flight: 0 });
    assert.equal(await n!.failureCount(), 0);
  });

  test('gives up after max_attempts and records the failure in the dead-letter log', async () => {
    setup({ maxAttempts: 3, backoffMs: S, groupIntervalMs: 60 * M });
    server.failAll = true;
    bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    fake.advance(30 * S);
    for (const wait of [S, 2 * S]) {
      await until(() => fake.pending() === 1 && n!.notifiers[0]!.stats().in_flight === 1, 'a backoff timer');
      fake.advance(wait);
    }
    await until(() => n!.notifiers[0]!.stats().in_flight === 0, 'giving up');
    assert.equal(server.requests.length, 3);
    assert.equal(await n!.failureCount(), 1);
    const [failure] = await n!.deadLetters.list();
    assert.equal(failure!.kind, 'alert_webhook');
    assert.equal(failure!.url, `${server.url}/hook`);
    assert.equal(failure!.group_key, '{}:{alertname="HighCPU"}');
    assert.equal(failure!.attempts, 3);
    assert.equal(failure!.last_error, 'HTTP 500: boom');
    assert.deepEqual(failure!.payload, server.requests[0]!.body);
    assert.equal(failure!.at, fake.now());

    const app = Fastify();
    installErrorHandler(app);
    n!.part.routes!(app);
    const res = await app.inject({ url: '/api/v1/notifications/failures?limit=10' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { total: number; failures: { group_key: string; payload: AlertmanagerPayload }[] };
    assert.equal(body.total, 1);
    assert.equal(body.failures[0]!.payload.alerts[0]!.labels.host, 'a');
    const bad = await app.inject({ url: '/api/v1/notifications/failures?limit=0' });
    assert.equal(bad.statusCode, 400);
    assert.equal((bad.json() as { error: { code: string } }).error.code, 'bad_request');
    await app.close();

    server.failAll = false;
    await advance(60 * M);
    assert.equal(server.requests.length, 4, 'the group is tried again at the next group_interval');
  });

  test('an unreachable receiver never blocks the AlertBus, and stop() cancels retries', async () => {
    const gone = await new RecordingServer().start();
    await gone.stop();
    setup({ url: gone.url, maxAttempts: 5, backoffMs: 50 * S, groupWaitMs: 0, groupBy: ['alertname', 'i'] });
    for (let i = 0; i < 500; i++) bus.fire({ rule: 'R', labels: { i: String(i) } });
    fake.advance(0);
    const notifier = n!.notifiers[0]!;
    assert.equal(
      notifier.stats().in_flight,
      500,
      'every group is in flight at once: firing never waits on the network',
    );
    await until(() => notifier.stats().in_flight === 500 && fake.pending() === 500, 'every group waiting to retry');
    await n!.part.stop!();
    await until(() => notifier.stats().in_flight === 0, 'the retry loops to end');
    assert.equal(fake.pending(), 0, 'no timer left');
    assert.equal(await n!.failureCount(), 0, 'a stop is not a failure');
  });
});
