/**
 * @module http.test
 * `VigilHttp` against the real hub on port 0: typed replies for stats, publish, history, ingest, range queries,
 * rules, alerts and acknowledgement, incidents and tasks; hub errors with their code, message, details and status;
 * credentials with auth on; an unreachable hub and a timeout.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Hub } from '@vigil/server';
import { VigilClientError } from './errors.js';
import { VigilHttp } from './http.js';
import { removeHubDirs, startRealHub } from './testing/real-hub.js';

async function startHub(overrides: Record<string, unknown> = {}): Promise<{ hub: Hub; url: string }> {
  const { hub, httpUrl } = await startRealHub(overrides);
  return { hub, url: httpUrl };
}

async function rejects(p: Promise<unknown>): Promise<VigilClientError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VigilClientError);
    return err;
  }
  assert.fail('expected a rejection');
}

after(removeHubDirs);

describe('VigilHttp against the real hub', () => {
  let hub: Hub;
  let http: VigilHttp;
  before(async () => {
    const started = await startHub();
    hub = started.hub;
    http = new VigilHttp({ url: `${started.url}/` });
  });
  after(() => hub.stop());

  test('stats, whoami, publish, channels and history', async () => {
    assert.equal((await http.stats()).node, hub.config.nodeId);
    assert.equal((await http.whoami()).auth, false);
    const pub = await http.publish('demo.x', { n: 1 }, 'note');
    assert.equal(pub.offset, 1);
    const { channels } = await http.channels();
    assert.ok(channels.some((c) => c.channel === 'demo.x' && c.offset === 1));
    const history = await http.history('demo.x', { since: 0 });
    assert.deepEqual(
      history.events.map((e) => [e.kind, e.data]),
      [['note', { n: 1 }]],
    );
  });

  test('ingest, series, current values, a range query with labels, window statistics', async () => {
    const now = Date.now();
    const reply = await http.ingest([
      { name: 'app.q', value: 1, labels: { route: '/a,b' }, ts: now - 2000 },
      { name: 'app.q', value: 3, labels: { route: '/a,b' }, ts: now - 1000 },
      { name: 'app.q', value: 100, labels: { route: '/c' }, ts: now - 1000 },
    ]);
    assert.deepEqual(reply, { accepted: 3, rejected: 0, errors: [] });
    assert.equal((await http.series({ prefix: 'app.' })).series.length, 2);
    assert.equal((await http.current({ labels: { route: '/c' } })).metrics[0]?.value, 100);
    const range = await http.query('app.q', {
      from: now - 60_000,
      to: now,
      step: 60_000,
      agg: 'max',
      labels: { route: '/a,b' },
    });
    assert.equal(range.series.length, 1);
    assert.equal(Math.max(...range.series[0]!.points.map((p) => p[1] ?? 0)), 3);
    const stats = await http.metricStats('app.q', '1m', { route: '/a,b' });
    assert.equal(stats.series[0]?.count, 2);
  });

  test('rules, an alert and its acknowledgement; a bad rule names its field', async () => {
    const rule = await http.createRule({
      name: 'QHigh',
      kind: 'threshold',
      metric: 'app.q',
      threshold: 50,
      severity: 'critical',
    });
    assert.equal(rule.source, 'api');
    await http.ingest([{ name: 'app.q', value: 70, labels: { route: '/z' } }]);
    const { alerts } = await http.alerts({ active: true });
    const alert = alerts.find((a) => a.rule === 'QHigh');
    assert.equal(alert?.status, 'firing');
    const acked = await http.ackAlert(alert!.id, 'ana');
    assert.equal(acked.acknowledged_by, 'ana');
    assert.equal((await http.alert(alert!.id)).transitions.at(-1)?.status, 'acknowledged');
    const bad = await rejects(http.createRule({ name: 'Bad', kind: 'threshold', metric: 'app.q', severity: 'info' }));
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.details?.field, 'threshold');
    assert.equal(bad.details?.status, 400);
    assert.equal(bad.fromServer, true);
    assert.ok(!(await http.rules()).rules.some((r) => r.name === 'Bad'));
    await http.deleteRule('QHigh');
    const missing = await rejects(http.alert('nope'));
    assert.deepEqual([missing.code, missing.details?.status], ['not_found', 404]);
  });

  test('incidents and tasks', async () => {
    const { incidents } = await http.incidents();
    const incident = incidents[0]!;
    assert.ok(incident, 'the critical alert opened an incident');
    const commented = await http.commentIncident(incident.id, 'ana', 'looking');
    assert.equal(commented.comments.at(-1)?.text, 'looking');
    assert.equal((await http.assignIncident(incident.id, 'bo')).assignee, 'bo');
    assert.equal((await http.resolveIncident(incident.id, 'bo')).status, 'resolved');
    const task = await http.post<{ id: string }>('/api/v1/tasks', { name: 'reindex', total: 10 });
    assert.equal((await http.task(task.id)).name, 'reindex');
    assert.ok((await http.tasks()).tasks.some((t) => t.id === task.id));
  });
});

describe('VigilHttp with auth, and failures', () => {
  test('the token is sent as a bearer; none or a wrong one is unauthorized', async () => {
    const key = 'reader-key-0123456789';
    const { hub, url } = await startHub({ auth: { api_keys: [{ key, name: 'reader', scopes: ['read'] }] } });
    try {
      const who = await new VigilHttp({ url, getToken: () => key }).whoami();
      assert.deepEqual([who.principal, who.scopes], ['reader', ['read']]);
      const none = await rejects(new VigilHttp({ url }).stats());
      assert.deepEqual([none.code, none.details?.status], ['unauthorized', 401]);
      const wrong = await rejects(new VigilHttp({ url, getToken: async () => 'wrong-key-0123456789' }).stats());
      assert.equal(wrong.message, 'Unknown API key or token');
      const forbidden = await rejects(new VigilHttp({ url, getToken: () => key }).publish('a', 1));
      assert.deepEqual([forbidden.code, forbidden.details?.status], ['forbidden', 403]);
    } finally {
      await hub.stop();
    }
  });

  test('an unreachable hub is request_failed; a silent one is a timeout', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const slow = await rejects(new VigilHttp({ url: `http://127.0.0.1:${port}`, timeoutMs: 50 }).stats());
      assert.equal(slow.code, 'timeout');
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
    const down = await rejects(new VigilHttp({ url: `http://127.0.0.1:${port}` }).stats());
    assert.equal(down.code, 'request_failed');
  });
});
