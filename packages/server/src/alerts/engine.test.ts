/**
 * @module engine.test
 * Alert rules on scripted series with a fake clock, against a real hub: each rule kind, `for`, hysteresis,
 * `keep_firing_for`, anomaly severity, absence, per-series alerts, templates, validation, acks over REST and WS,
 * silences, external alerts (simple and Alertmanager form) and a restart round trip; and, on an engine with a store
 * whose reads resolve by hand, what happens while a new leader loads its state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SeriesRegistry } from '../metrics/series-registry.js';
import type { StateStore } from '../storage/state-store.js';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';
import type { StoredAlert } from './alert-store.js';
import { AlertEngine } from './engine.js';
import { parseRule } from './rule.js';
import type { Alert } from './types.js';

const T0 = Date.UTC(2026, 0, 1);

describe('alert engine', () => {
  const clock = { t: T0 };
  let h: RunningHub;
  let watcher: TestClient;

  before(async () => {
    h = await startHub(
      { metrics: { collect_interval: 0 }, alerts: { evaluation_interval: '1h' } },
      { clock: () => clock.t },
    );
    watcher = await TestClient.connect(h.wsUrl);
    await watcher.request({ op: 'subscribe', channels: ['alerts'] });
  });
  after(async () => {
    watcher.close();
    await h.stop();
  });

  const push = (name: string, value: number, labels: Record<string, string> = {}) =>
    h.hub.metricsService.ingest([{ name, value, labels, ts: clock.t }]);
  const advance = (ms: number) => {
    clock.t += ms;
  };
  const rule = async (spec: Record<string, unknown>) => {
    const res = await h.hub.app.inject({ method: 'POST', url: '/api/v1/rules', payload: spec });
    assert.equal(res.statusCode, 201, res.body);
  };
  const statusOf = (ruleName: string, labels?: Record<string, string>) => {
    const active = h.hub.alerts
      .activeAlerts()
      .filter((a) => a.rule === ruleName && (!labels || Object.entries(labels).every(([k, v]) => a.labels[k] === v)));
    return active.length === 0 ? 'inactive' : active.map((a) => a.status).join(',');
  };
  const events = (ruleName: string) =>
    watcher
      .events('alerts')
      .map((e) => e.data as Alert)
      .filter((a) => a.rule === ruleName);

  test('threshold: fires on the crossing sample, within the same turn, and resolves', async () => {
    await rule({ name: 'cpu_high', kind: 'threshold', metric: 'cpu', op: '>', threshold: 90, severity: 'warning' });
    push('cpu', 50);
    assert.equal(statusOf('cpu_high'), 'inactive');
    push('cpu', 95);
    assert.equal(statusOf('cpu_high'), 'firing', 'evaluated on ingest, not on a timer');
    const ev = await watcher.next((f) => f.type === 'event' && (f.data as Alert).rule === 'cpu_high');
    const a = ev.data as Alert;
    assert.deepEqual([a.status, a.severity, a.value, a.threshold], ['firing', 'warning', 95, 90]);
    push('cpu', 40);
    assert.equal(statusOf('cpu_high'), 'inactive');
    await watcher.next(
      (f) => f.type === 'event' && (f.data as Alert).rule === 'cpu_high' && (f.data as Alert).status === 'resolved',
    );
    const [first, last] = [events('cpu_high')[0]!, events('cpu_high').at(-1)!];
    assert.equal(first.id, last.id, 'one alert id from firing to resolved');
    assert.equal(last.ends_at, clock.t);
  });

  test('for: pending first, firing after the duration; cleared while pending resolves quietly', async () => {
    await rule({ name: 'mem_high', kind: 'threshold', metric: 'mem', threshold: 80, for: '30s', severity: 'error' });
    push('mem', 85);
    assert.equal(statusOf('mem_high'), 'pending');
    advance(20_000);
    push('mem', 86);
    assert.equal(statusOf('mem_high'), 'pending');
    advance(10_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('mem_high'), 'firing', 'the timer fires it once `for` has passed');
    push('mem', 10);
    push('mem', 85);
    assert.equal(statusOf('mem_high'), 'pending');
    advance(5000);
    push('mem', 10);
    assert.equal(statusOf('mem_high'), 'inactive');
  });

  test('hysteresis: resolve_threshold keeps it firing until the value crosses back past it', async () => {
    await rule({
      name: 'temp',
      kind: 'threshold',
      metric: 'temp',
      op: '>',
      threshold: 90,
      resolve_threshold: 80,
      severity: 'warning',
    });
    push('temp', 95);
    assert.equal(statusOf('temp'), 'firing');
    push('temp', 85);
    assert.equal(statusOf('temp'), 'firing', 'below threshold but above resolve_threshold');
    push('temp', 92);
    push('temp', 80);
    assert.equal(statusOf('temp'), 'inactive', 'at resolve_threshold it resolves');
  });

  test('keep_firing_for: stays firing after the condition clears, then resolves', async () => {
    await rule({
      name: 'disk',
      kind: 'threshold',
      metric: 'disk',
      threshold: 90,
      keep_firing_for: '1m',
      severity: 'critical',
    });
    push('disk', 95);
    advance(1000);
    push('disk', 50);
    assert.equal(statusOf('disk'), 'firing');
    advance(30_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('disk'), 'firing');
    push('disk', 96);
    advance(45_000);
    push('disk', 50);
    advance(45_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('disk'), 'firing', 'the condition came back: the clock restarted');
    advance(15_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('disk'), 'inactive');
  });

  test('window aggregates: avg over the window', async () => {
    await rule({
      name: 'lat_avg',
      kind: 'threshold',
      metric: 'lat',
      agg: 'avg',
      window: '10s',
      threshold: 100,
      severity: 'info',
    });
    for (const v of [50, 60, 70, 400]) {
      push('lat', v);
      advance(1000);
    }
    assert.equal(statusOf('lat_avg'), 'firing', 'avg of 50, 60, 70, 400 is 145');
    advance(20_000);
    push('lat', 10);
    assert.equal(statusOf('lat_avg'), 'inactive', 'the spike left the window');
  });

  test('anomaly: fires at 2.5σ, severity rises at 3.5σ', async () => {
    await rule({ name: 'rps_anomaly', kind: 'anomaly', metric: 'rps', severity: 'warning' });
    for (let i = 0; i < 120; i++) {
      push('rps', 100 + (i % 2 === 0 ? 1 : -1));
      advance(1000);
    }
    assert.equal(statusOf('rps_anomaly'), 'inactive');
    push('rps', 103.5);
    assert.equal(statusOf('rps_anomaly'), 'firing', '3.5σ above the mean');
    assert.equal(h.hub.alerts.activeAlerts().find((a) => a.rule === 'rps_anomaly')?.severity, 'error');
    advance(1000);
    push('rps', 100);
    assert.equal(statusOf('rps_anomaly'), 'inactive');
    advance(1000);
    push('rps', 102.8);
    const a = h.hub.alerts.activeAlerts().find((x) => x.rule === 'rps_anomaly');
    assert.equal(a?.severity, 'warning', 'between 2.5σ and 3.5σ the rule severity holds');
    advance(1000);
    push('rps', 100);
  });

  test('absence: fires when no sample arrives for the duration; a sample resolves it', async () => {
    await rule({ name: 'heartbeat_gone', kind: 'absence', metric: 'heartbeat', for: '1m', severity: 'critical' });
    push('heartbeat', 1, { job: 'a' });
    push('heartbeat', 1, { job: 'b' });
    advance(45_000);
    push('heartbeat', 1, { job: 'b' });
    advance(20_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('heartbeat_gone', { job: 'a' }), 'firing');
    assert.equal(statusOf('heartbeat_gone', { job: 'b' }), 'inactive');
    push('heartbeat', 1, { job: 'a' });
    h.hub.alerts.tick();
    assert.equal(statusOf('heartbeat_gone', { job: 'a' }), 'inactive');
  });

  test('absence of a metric that has no series yet fires, and ends when the metric appears', async () => {
    await rule({ name: 'never_seen', kind: 'absence', metric: 'ghost.metric', for: '30s', severity: 'error' });
    advance(31_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('never_seen'), 'firing');
    push('ghost.metric', 1);
    assert.equal(statusOf('never_seen'), 'inactive');
  });

  test('flap protection: a series that keeps firing and resolving is held firing until it settles', async () => {
    await rule({ name: 'flappy', kind: 'threshold', metric: 'flap', threshold: 10, severity: 'warning' });
    for (let i = 0; i < 3; i++) {
      push('flap', 20);
      advance(1000);
      push('flap', 0);
      assert.equal(statusOf('flappy'), 'inactive', `episode ${i + 1} resolves normally`);
      advance(1000);
    }
    push('flap', 20);
    const a = h.hub.alerts.activeAlerts().find((x) => x.rule === 'flappy') as Alert & { flapping: boolean };
    assert.equal(a.flapping, true, 'the fourth firing within the window is flapping');
    advance(1000);
    push('flap', 0);
    assert.equal(statusOf('flappy'), 'firing', 'held while flapping');
    advance(5 * 60_000);
    h.hub.alerts.tick();
    assert.equal(statusOf('flappy'), 'inactive', 'resolved after the hold');
  });

  test('one alert per label set, with templated annotations', async () => {
    await rule({
      name: 'queue_deep',
      kind: 'threshold',
      metric: 'queue.depth',
      labels: { env: 'prod' },
      threshold: 1000,
      severity: 'warning',
      annotations: { summary: 'Queue {{ $labels.queue }} holds {{ $value }} (limit {{ $threshold }})' },
    });
    push('queue.depth', 5000, { env: 'prod', queue: 'mail' });
    push('queue.depth', 2000, { env: 'prod', queue: 'sms' });
    push('queue.depth', 9000, { env: 'dev', queue: 'mail' });
    const active = h.hub.alerts.activeAlerts().filter((a) => a.rule === 'queue_deep');
    assert.equal(active.length, 2, 'dev does not match the rule labels');
    assert.notEqual(active[0]!.id, active[1]!.id);
    const mail = active.find((a) => a.labels.queue === 'mail')!;
    assert.equal(mail.annotations.summary, 'Queue mail holds 5000 (limit 1000)');
  });

  test('bad rules are rejected with an error that names the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', kind: 'threshold', metric: 'm', severity: 'warning' }, 'threshold'],
      [{ name: 'x', kind: 'threshold', metric: 'm', threshold: 1, severity: 'loud' }, 'severity'],
      [{ name: 'x', kind: 'sometimes', metric: 'm', severity: 'info' }, 'kind'],
      [{ name: 'x', kind: 'threshold', metric: 'm', threshold: 1, for: 'soon', severity: 'info' }, 'for'],
      [{ name: 'x', kind: 'threshold', metric: 'bad metric', threshold: 1, severity: 'info' }, 'metric'],
      [
        { name: 'x', kind: 'threshold', metric: 'm', threshold: 90, resolve_threshold: 95, severity: 'info' },
        'resolve_threshold',
      ],
      [{ name: 'x', kind: 'anomaly', metric: 'm', op: '>', severity: 'info' }, 'op'],
      [{ name: 'cpu_high', kind: 'threshold', metric: 'm', threshold: 1, severity: 'info' }, 'name'],
    ];
    for (const [spec, field] of cases) {
      const res = await h.hub.app.inject({ method: 'POST', url: '/api/v1/rules', payload: spec });
      assert.equal(res.statusCode, 400, JSON.stringify(spec));
      const err = (res.json() as { error: { code: string; message: string; details: { field: string } } }).error;
      assert.equal(err.code, 'bad_request');
      assert.equal(err.details.field, field, err.message);
      assert.match(err.message, new RegExp(field));
    }
  });

  test('acks through REST and through WS are both broadcast on alerts', async () => {
    await rule({ name: 'ack_me', kind: 'threshold', metric: 'ackm', threshold: 1, severity: 'error' });
    push('ackm', 5, { n: '1' });
    push('ackm', 5, { n: '2' });
    const [a1, a2] = h.hub.alerts.activeAlerts().filter((a) => a.rule === 'ack_me');
    const res = await h.hub.app.inject({
      method: 'POST',
      url: `/api/v1/alerts/${a1!.id}/ack`,
      payload: { by: 'ana', comment: 'looking' },
    });
    assert.equal(res.statusCode, 200);
    const restEv = await watcher.next(
      (f) => f.type === 'event' && (f.data as Alert).id === a1!.id && !!(f.data as Alert).acknowledged_by,
    );
    assert.deepEqual(
      [(restEv.data as Alert).acknowledged_by, (restEv.data as Alert).acknowledged_at],
      ['ana', clock.t],
    );
    const ws = await TestClient.connect(h.wsUrl);
    const r = await ws.request({ op: 'call', method: 'alerts.ack', params: { id: a2!.id, by: 'bo' } });
    assert.equal(r.ok, true);
    const wsEv = await watcher.next(
      (f) => f.type === 'event' && (f.data as Alert).id === a2!.id && !!(f.data as Alert).acknowledged_by,
    );
    assert.equal((wsEv.data as Alert).acknowledged_by, 'bo');
    const byRule = await ws.request({ op: 'call', method: 'alerts.ack', params: { rule: 'ack_me', by: 'cy' } });
    assert.equal((byRule.result as { alerts: Alert[] }).alerts.length, 2);
    const list = await ws.request({ op: 'call', method: 'alerts.list' });
    assert.ok((list.result as { alerts: Alert[] }).alerts.some((a) => a.id === a1!.id));
    const missing = await h.hub.app.inject({ method: 'POST', url: '/api/v1/alerts/nope/ack', payload: {} });
    assert.equal(missing.statusCode, 404);
    ws.close();
  });

  test('silences mark matching alerts silenced without stopping their state', async () => {
    await rule({ name: 'noisy', kind: 'threshold', metric: 'noise', threshold: 1, severity: 'info' });
    const res = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      payload: {
        matchers: [{ name: 'alertname', value: 'noisy' }],
        ends_at: clock.t + 60_000,
        by: 'ops',
        comment: 'maintenance',
      },
    });
    assert.equal(res.statusCode, 201);
    const silence = res.json() as { id: string; status: string };
    assert.equal(silence.status, 'active');
    push('noise', 5);
    const a = h.hub.alerts.activeAlerts().find((x) => x.rule === 'noisy')!;
    assert.deepEqual([a.status, a.silenced], ['firing', true]);
    advance(61_000);
    h.hub.alerts.tick();
    assert.equal(h.hub.alerts.activeAlerts().find((x) => x.rule === 'noisy')?.silenced, false, 'the silence ended');
    const bad = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      payload: { matchers: [], ends_at: 1, by: 'x', comment: '' },
    });
    assert.equal(bad.statusCode, 400);
    push('noise', 0);
  });

  test('external alerts: simple JSON and an Alertmanager v4 payload', async () => {
    const simple = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      payload: {
        name: 'BackupFailed',
        severity: 'error',
        labels: { host: 'db1' },
        annotations: { summary: 'nightly backup' },
      },
    });
    assert.equal(simple.statusCode, 200);
    assert.equal((simple.json() as { format: string }).format, 'simple');
    assert.equal(statusOf('BackupFailed'), 'firing');
    const am = {
      version: '4',
      groupKey: '{}:{alertname="DiskFull"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'vigil',
      groupLabels: { alertname: 'DiskFull' },
      commonLabels: { alertname: 'DiskFull' },
      commonAnnotations: {},
      externalURL: 'http://am',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'DiskFull', severity: 'critical', instance: 'n1' },
          annotations: { summary: 'disk full' },
          startsAt: new Date(clock.t - 5000).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: 'abc',
        },
      ],
    };
    const r1 = await h.hub.app.inject({ method: 'POST', url: '/api/v1/alerts', payload: am });
    assert.equal((r1.json() as { format: string }).format, 'alertmanager');
    const disk = h.hub.alerts.activeAlerts().find((a) => a.rule === 'DiskFull')!;
    assert.deepEqual(
      [disk.severity, disk.labels.instance, disk.source, disk.starts_at],
      ['critical', 'n1', 'external', clock.t - 5000],
    );
    am.alerts[0]!.status = 'resolved';
    await h.hub.app.inject({ method: 'POST', url: '/api/v1/alerts', payload: { ...am, status: 'resolved' } });
    assert.equal(statusOf('DiskFull'), 'inactive');
    const bad = await h.hub.app.inject({ method: 'POST', url: '/api/v1/alerts', payload: { severity: 'error' } });
    assert.equal(bad.statusCode, 400);
    assert.match((bad.json() as { error: { message: string } }).error.message, /name/);
  });

  test('history is queryable by state, rule and since', async () => {
    const res = await h.hub.app.inject({ url: `/api/v1/alerts?rule=cpu_high&state=resolved&since=${T0}` });
    const alerts = (res.json() as { alerts: Alert[] }).alerts;
    assert.equal(alerts.length, 1);
    const one = await h.hub.app.inject({ url: `/api/v1/alerts/${alerts[0]!.id}` });
    const transitions = (one.json() as { transitions: { status: string }[] }).transitions.map((t) => t.status);
    assert.deepEqual(transitions, ['firing', 'resolved']);
  });
});

describe('alerts across a restart', () => {
  test('rules, active alerts with their state, silences and pending `for` timers survive', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-alerts-restart-'));
    const clock = { t: T0 };
    const overrides = { metrics: { collect_interval: 0 }, alerts: { evaluation_interval: '1h' } };
    const h1 = await startHub(overrides, { clock: () => clock.t, dataDir });
    const post = (url: string, payload: object) => h1.hub.app.inject({ method: 'POST', url, payload });
    await post('/api/v1/rules', {
      name: 'slow',
      kind: 'threshold',
      metric: 'm',
      threshold: 10,
      for: '1m',
      severity: 'warning',
    });
    await post('/api/v1/rules', { name: 'fast', kind: 'threshold', metric: 'm', threshold: 10, severity: 'error' });
    await post('/api/v1/silences', {
      matchers: [{ name: 'alertname', value: 'fast' }],
      ends_at: T0 + 3_600_000,
      by: 'a',
      comment: 'c',
    });
    h1.hub.metricsService.ingest([{ name: 'm', value: 50, labels: {}, ts: clock.t }]);
    const before = h1.hub.alerts.activeAlerts();
    await h1.hub.app.inject({
      method: 'POST',
      url: `/api/v1/alerts/${before.find((a) => a.rule === 'fast')!.id}/ack`,
      payload: { by: 'ana' },
    });
    await h1.stop();

    clock.t += 30_000;
    const h2 = await startHub(overrides, { clock: () => clock.t, dataDir });
    const after = h2.hub.alerts.activeAlerts();
    const fast = after.find((a) => a.rule === 'fast')!;
    assert.deepEqual([fast.status, fast.acknowledged_by, fast.silenced], ['firing', 'ana', true]);
    const slow = after.find((a) => a.rule === 'slow')!;
    assert.equal(slow.status, 'pending');
    assert.equal(slow.id, before.find((a) => a.rule === 'slow')!.id);
    assert.equal(h2.hub.alerts.listRules().length, 2);
    assert.equal(h2.hub.alerts.silences.list().length, 1);
    clock.t += 30_000;
    h2.hub.metricsService.ingest([{ name: 'm', value: 51, labels: {}, ts: clock.t }]);
    assert.equal(
      h2.hub.alerts.activeAlerts().find((a) => a.rule === 'slow')!.status,
      'firing',
      'the `for` timer resumed',
    );
    await h2.stop();
  });
});

describe('alert engine taking the lead', () => {
  /** A store whose active alerts come when the test says so. */
  function handStore(active: StoredAlert[]) {
    let release: () => void = () => {};
    const loaded = new Promise<void>((r) => {
      release = r;
    });
    const store = {
      rules: async () => [],
      silences: async () => [],
      activeAlerts: async () => {
        await loaded;
        return active.map((a) => ({ ...a }));
      },
      saveAlerts: async () => {},
    } as unknown as StateStore;
    return { store, release };
  }

  function engineWith(store: StateStore) {
    const registry = new SeriesRegistry({ maxSeriesPerMetric: 10, maxSeries: 10 });
    const series = registry.restore(1, 'cpu', { host: 'a' });
    series.lastTs = T0;
    series.lastValue = 95;
    const engine = new AlertEngine({
      config: {
        rules: [
          parseRule(
            { name: 'cpu_high', kind: 'threshold', metric: 'cpu', threshold: 90, severity: 'warning' },
            'config',
          ),
        ],
        evaluationIntervalMs: 3_600_000,
        flap: { windowMs: 600_000, maxFirings: 4, holdMs: 300_000 },
      },
      registry,
      store,
      emit: async () => ({}) as never,
      now: () => T0,
    });
    const changes: string[] = [];
    engine.onChange((a, change) => changes.push(`${a.rule} ${change} ${a.status}`));
    return { engine, series, changes };
  }

  const firing = (seriesKey: string, rule: string): StoredAlert => ({
    id: `a_${rule}`,
    rule,
    status: 'firing',
    severity: 'warning',
    value: 95,
    threshold: 90,
    labels: { host: 'a' },
    annotations: {},
    starts_at: T0 - 60_000,
    source: 'rule',
    fingerprint: `f_${rule}`,
    silenced: false,
    updated_at: T0 - 60_000,
    series_key: seriesKey,
    clear_since: null,
    flapping: false,
  });

  test('samples and external alerts taken in while the state loads do not fire an alert again', async () => {
    // An external alert as a node before this one raised it (its fingerprint comes from name and labels).
    const external: StoredAlert = {
      ...(engineWith(handStore([]).store).engine.raiseExternal({ name: 'disk', status: 'firing' }) as StoredAlert),
      series_key: null,
      clear_since: null,
      flapping: false,
    };
    const active = [firing('', 'cpu_high'), external];
    const stored = handStore(active);
    const leader = engineWith(stored.store);
    active[0]!.series_key = leader.series.key;
    const lead = leader.engine.lead(true);
    await new Promise((r) => setImmediate(r));
    assert.equal(leader.engine.isLeading(), false, 'not leading before the state is in');
    leader.engine.onSample(leader.series);
    const raised = leader.engine.raise({ name: 'disk', status: 'firing' });
    stored.release();
    await lead;
    assert.equal(leader.engine.isLeading(), true);
    assert.equal((await raised).id, external.id, 'the external alert is the one already firing');
    assert.deepEqual(leader.changes, [], 'no transition: both alerts were firing before the lead');
    assert.deepEqual(
      leader.engine
        .activeAlerts()
        .map((a) => a.id)
        .sort(),
      active.map((a) => a.id).sort(),
    );
  });

  test('a lead given up while the state loads neither evaluates nor leads', async () => {
    const { store, release } = handStore([]);
    const { engine, changes } = engineWith(store);
    const lead = engine.lead(true);
    const follow = engine.lead(false);
    release();
    await lead;
    await follow;
    assert.equal(engine.isLeading(), false);
    assert.deepEqual(changes, [], 'a follower evaluates nothing');
  });
});
