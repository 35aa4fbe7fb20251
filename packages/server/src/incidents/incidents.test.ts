/**
 * @module incidents.test
 * Incidents from alerts on fake time: grouping by labels, severity and priority, auto-resolution, escalation to
 * real HTTP targets (and its dead-letter path), and escalation stopping once acknowledged. Alerts come from a scripted
 * AlertBus (notify/test-support.ts) that stands in for the rule engine.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { FakeScheduler, RecordingServer, ScriptedAlertBus, until } from '../notify/test-support.js';
import type { IncidentsConfig } from './config.js';
import { createIncidentsPart } from './index.js';
import type { IncidentService } from './service.js';
import { incidentsConfig, type TestHost, testHost } from './test-support.js';
import type { Incident } from './types.js';

const M = 60_000;

describe('incidents', () => {
  let fake: FakeScheduler;
  let bus: ScriptedAlertBus;
  let host: TestHost | undefined;
  let server: RecordingServer;
  let stop: (() => void | Promise<void>) | undefined;

  beforeEach(async () => {
    fake = new FakeScheduler();
    bus = new ScriptedAlertBus(() => fake.now());
    server = await new RecordingServer().start();
  });

  afterEach(async () => {
    await stop?.();
    stop = undefined;
    host?.close();
    host = undefined;
    await server.stop();
  });

  async function setup(overrides: Partial<IncidentsConfig> = {}): Promise<IncidentService> {
    host = testHost(incidentsConfig(overrides));
    const { part, service } = createIncidentsPart(host, bus, {
      scheduler: fake,
      random: () => 1,
      delivery: { maxAttempts: 2, backoffMs: 1000, timeoutMs: 2000 },
    });
    await part.start?.();
    stop = () => part.stop?.();
    return service;
  }

  const byTitle = async (s: IncidentService) => new Map((await await s.list()).map((i) => [i.title, i]));

  test('firing alerts are grouped into incidents by the group_by labels', async () => {
    const s = await setup({ groupBy: ['alertname', 'env'] });
    const a = bus.fire({ rule: 'HighCPU', labels: { env: 'prod', host: 'a' } });
    const b = bus.fire({ rule: 'HighCPU', severity: 'critical', labels: { env: 'prod', host: 'b' } });
    bus.fire({ rule: 'HighCPU', labels: { env: 'dev', host: 'c' } });
    bus.fire({ rule: 'DiskFull', severity: 'info', labels: { env: 'prod' } });
    bus.pend({ rule: 'Pending', labels: { env: 'prod' } });
    bus.fire({ rule: 'Quiet', silenced: true });
    const ext = bus.raiseExternal({ name: 'HighCPU', status: 'firing', severity: 'error', labels: { env: 'prod' } });

    const incidents = await byTitle(s);
    assert.deepEqual([...incidents.keys()].sort(), ['DiskFull (env=prod)', 'HighCPU (env=dev)', 'HighCPU (env=prod)']);
    const prod = incidents.get('HighCPU (env=prod)')!;
    assert.deepEqual(prod.alerts, [a.id, b.id, ext.id], 'the external alert joins the same way');
    assert.deepEqual(prod.labels, { alertname: 'HighCPU', env: 'prod' });
    assert.equal(prod.group_key, '{alertname="HighCPU", env="prod"}');
    assert.equal(prod.status, 'open');
    assert.equal(prod.firing, 3);
    assert.deepEqual([prod.severity, prod.priority], ['critical', 'P1'], 'highest severity, and its priority');
    assert.deepEqual(
      prod.timeline.map((t) => t.type),
      ['created', 'alert_added', 'severity_raised', 'alert_added'],
    );
    assert.deepEqual(
      [incidents.get('DiskFull (env=prod)')!.priority, incidents.get('HighCPU (env=dev)')!.priority],
      ['P4', 'P3'],
    );
    assert.deepEqual(host!.kinds(), [
      'incident_created',
      'incident_updated',
      'incident_created',
      'incident_created',
      'incident_updated',
    ]);
    assert.ok(host!.events.every((e) => e.channel === 'incidents'));
    assert.deepEqual(host!.events[1]!.data, {
      ...prod,
      alerts: [a.id, b.id],
      firing: 2,
      timeline: prod.timeline.slice(0, 3),
      updated_at: prod.updated_at,
    });
  });

  test('an incident resolves on its own when all its alerts resolve; the next firing alert opens a new one', async () => {
    const s = await setup();
    const a = bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    const b = bus.fire({ rule: 'HighCPU', labels: { host: 'b' } });
    const id = (await s.list())[0]!.id;
    fake.advance(M);
    bus.resolve(a.id);
    assert.equal((await s.get(id))!.status, 'open');
    assert.equal((await s.get(id))!.firing, 1);
    fake.advance(M);
    bus.resolve(b.id);
    const done = (await s.get(id))!;
    assert.equal(done.status, 'resolved');
    assert.equal(done.resolved_at, fake.now());
    assert.equal(done.resolved_by, undefined);
    assert.deepEqual(done.timeline.at(-1), { at: fake.now(), type: 'resolved', detail: 'All alerts resolved' });
    assert.deepEqual(host!.kinds().slice(-2), ['incident_updated', 'incident_resolved']);
    assert.equal(host!.events.at(-1)!.data.status, 'resolved');

    bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    const [newest] = await s.list();
    assert.notEqual(newest!.id, id);
    assert.equal(newest!.status, 'open');
    assert.deepEqual(
      (await s.list({ status: 'resolved' })).map((i) => i.id),
      [id],
    );
  });

  test('with auto_resolve off an incident stays open until resolved by hand', async () => {
    const s = await setup({ autoResolve: false });
    const a = bus.fire({ rule: 'HighCPU' });
    bus.resolve(a.id);
    const [inc] = await s.list();
    assert.deepEqual([inc!.status, inc!.firing], ['open', 0]);
    const resolved = await s.resolve(inc!.id, 'ana', 'fixed the cron job');
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.resolved_by, 'ana');
    assert.equal(resolved.comments[0]!.text, 'fixed the cron job');
  });

  test('an unacknowledged incident escalates: priority rises, targets are notified in turn, until acknowledged', async () => {
    const s = await setup({
      checkIntervalMs: M,
      escalation: { afterMs: 10 * M, repeat: true, targets: [`${server.url}/first`, `${server.url}/second`] },
    });
    bus.fire({ rule: 'HighCPU', severity: 'warning' });
    const id = (await s.list())[0]!.id;
    fake.advance(9 * M);
    assert.equal((await s.get(id))!.escalation_level, 0);
    fake.advance(M);
    let inc = (await s.get(id))!;
    assert.deepEqual([inc.escalation_level, inc.priority, inc.last_escalated_at], [1, 'P2', fake.now()]);
    assert.equal(host!.kinds().at(-1), 'incident_escalated');
    assert.equal(host!.events.at(-1)!.data.priority, 'P2');
    await until(() => server.requests.length === 1, 'the first escalation target');
    assert.equal(server.requests[0]!.url, '/first');
    const body = server.requests[0]!.body as { type: string; incident: Incident };
    assert.equal(body.type, 'incident_escalated');
    assert.deepEqual([body.incident.id, body.incident.escalation_level, body.incident.priority], [id, 1, 'P2']);
    assert.match(inc.timeline.at(-1)!.detail, /level 1, priority P3 → P2, notified http:\/\/127\.0\.0\.1:\d+\/first/);

    fake.advance(10 * M);
    inc = (await s.get(id))!;
    assert.deepEqual([inc.escalation_level, inc.priority], [2, 'P1']);
    await until(() => server.requests.length === 2, 'the second escalation target');
    assert.equal(server.requests[1]!.url, '/second');

    await s.acknowledge(id, 'bob');
    fake.advance(60 * M);
    inc = (await s.get(id))!;
    assert.deepEqual([inc.status, inc.escalation_level, inc.priority], ['acknowledged', 2, 'P1']);
    assert.equal(host!.kinds().filter((k) => k === 'incident_escalated').length, 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.requests.length, 2, 'no escalation after the acknowledgement');
  });

  test('escalation stops at P0, does not repeat without `repeat`, and is off with after = 0', async () => {
    const s = await setup({ checkIntervalMs: M, escalation: { afterMs: 5 * M, repeat: true, targets: [] } });
    bus.fire({ rule: 'Crit', severity: 'critical' });
    fake.advance(15 * M);
    const [inc] = await s.list();
    assert.deepEqual([inc!.escalation_level, inc!.priority], [3, 'P0']);
    assert.match(inc!.timeline.at(-1)!.detail, /priority stays P0/);
    await stop?.();
    host?.close();

    const once = await setup({ checkIntervalMs: M, escalation: { afterMs: 5 * M, repeat: false, targets: [] } });
    bus.fire({ rule: 'Once' });
    fake.advance(60 * M);
    assert.equal((await once.list())[0]!.escalation_level, 1);
    await stop?.();
    host?.close();

    const off = await setup({ checkIntervalMs: M, escalation: { afterMs: 0, repeat: true, targets: [] } });
    bus.fire({ rule: 'Never' });
    assert.equal(fake.pending(), 0, 'no escalation timer at all');
    fake.advance(600 * M);
    assert.equal((await off.list())[0]!.escalation_level, 0);
  });

  test('an escalation that cannot be delivered is retried, then recorded in the dead-letter log', async () => {
    server.failAll = true;
    await setup({ checkIntervalMs: M, escalation: { afterMs: M, repeat: false, targets: [`${server.url}/pager`] } });
    bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    fake.advance(M);
    await until(() => server.requests.length === 1 && fake.pending() === 2, 'the first attempt and its backoff');
    fake.advance(1000);
    await until(() => server.requests.length === 2, 'the retry');
    const failures = () => host!.state.listFailures({});
    await until(async () => (await failures()).length === 1, 'the dead-letter row');
    const [row] = await failures();
    assert.deepEqual(
      { ...row, id: undefined, at: undefined, payload: undefined },
      {
        kind: 'escalation',
        url: `${server.url}/pager`,
        group_key: '{alertname="HighCPU"}',
        attempts: 2,
        last_error: 'HTTP 500: boom',
        id: undefined,
        at: undefined,
        payload: undefined,
      },
    );
    assert.equal((row!.payload as { type: string }).type, 'incident_escalated');
  });

  test('incidents.list is a call method', async () => {
    await setup();
    bus.fire({ rule: 'A' });
    const b = bus.fire({ rule: 'B' });
    bus.resolve(b.id);
    const call = (params: unknown) => host!.methods.call('incidents.list', params, { session: 's' });
    const all = (await call(undefined)) as { incidents: Incident[] };
    assert.deepEqual(
      all.incidents.map((i) => i.title),
      ['B', 'A'],
    );
    const open = (await call({ status: 'open', limit: 5 })) as { incidents: Incident[] };
    assert.deepEqual(
      open.incidents.map((i) => i.title),
      ['A'],
    );
    await assert.rejects(call({ status: 'closed' }), { code: 'bad_request' });
    await assert.rejects(call({ limit: 0 }), { code: 'bad_request' });
  });
});
