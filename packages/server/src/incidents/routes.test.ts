/**
 * @module incident-routes.test
 * The incidents REST API in process with inject() (a standalone Fastify app with the hub's validation and error
 * mapping), and incident events reaching a WebSocket subscriber of a real hub. Alerts come from a scripted AlertBus
 * (notify/test-support.ts) that stands in for the rule engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import { MethodRegistry } from '../gateway/methods.js';
import { installErrorHandler } from '../http/error-handler.js';
import { ScriptedAlertBus } from '../notify/test-support.js';
import { startHub, TestClient } from '../testing/hub-fixture.js';
import { createIncidentsPart } from './index.js';
import type { IncidentService } from './service.js';
import { incidentsConfig, type TestHost, testHost } from './test-support.js';
import type { Incident } from './types.js';

function appLikeTheHub(): FastifyInstance {
  const app = Fastify();
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
  installErrorHandler(app);
  return app;
}

describe('incidents REST API', () => {
  let host: TestHost;
  let bus: ScriptedAlertBus;
  let service: IncidentService;
  let app: FastifyInstance;
  let stopPart: () => void | Promise<void>;

  before(async () => {
    host = testHost(incidentsConfig({ groupBy: ['alertname', 'host'] }));
    bus = new ScriptedAlertBus();
    const created = createIncidentsPart(host, bus);
    service = created.service;
    stopPart = () => created.part.stop?.();
    app = appLikeTheHub();
    created.part.routes!(app);
    await app.ready();
    created.part.start?.();
  });

  after(async () => {
    await app.close();
    await stopPart();
    host.close();
  });

  const post = (url: string, payload?: object) => app.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
  const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string; message: string } }).error;

  test('list and get', async () => {
    bus.fire({ rule: 'HighCPU', labels: { host: 'a' } });
    bus.fire({ rule: 'DiskFull', severity: 'critical', labels: { host: 'a' } });
    const list = await app.inject({ url: '/api/v1/incidents' });
    assert.equal(list.statusCode, 200);
    const incidents = (list.json() as { incidents: Incident[] }).incidents;
    assert.deepEqual(
      incidents.map((i) => [i.title, i.priority]),
      [
        ['DiskFull (host=a)', 'P1'],
        ['HighCPU (host=a)', 'P3'],
      ],
    );
    const one = await app.inject({ url: `/api/v1/incidents/${incidents[1]!.id}` });
    assert.deepEqual(one.json(), incidents[1]);
    const limited = await app.inject({ url: '/api/v1/incidents?status=open&limit=1' });
    assert.equal((limited.json() as { incidents: Incident[] }).incidents.length, 1);
    const bad = await app.inject({ url: '/api/v1/incidents?status=closed' });
    assert.equal(bad.statusCode, 400);
    assert.equal(errorOf(bad).code, 'bad_request');
    assert.match(errorOf(bad).message, /status/);
    const missing = await app.inject({ url: '/api/v1/incidents/inc_nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(errorOf(missing).code, 'not_found');
  });

  test('ack, assign, comment and resolve, each with its event on `incidents`', async () => {
    bus.fire({ rule: 'Latency', labels: { host: 'b' } });
    await service.idle();
    const id = (await service.list())[0]!.id;
    const url = `/api/v1/incidents/${id}`;
    const from = host.events.length;

    const ack = await post(`${url}/ack`, { by: 'bob', comment: 'looking' });
    assert.equal(ack.statusCode, 200);
    const acked = ack.json() as Incident;
    assert.deepEqual(
      [acked.status, acked.acknowledged_by, acked.comments[0]!.text],
      ['acknowledged', 'bob', 'looking'],
    );
    assert.equal(typeof acked.acknowledged_at, 'number');

    const assign = await post(`${url}/assign`, { assignee: 'carol', by: 'bob' });
    assert.equal((assign.json() as Incident).assignee, 'carol');
    const comment = await post(`${url}/comments`, { by: 'carol', text: 'restarted the pool' });
    assert.deepEqual(
      (comment.json() as Incident).comments.map((c) => [c.id, c.by, c.text]),
      [
        ['c1', 'bob', 'looking'],
        ['c2', 'carol', 'restarted the pool'],
      ],
    );
    const resolve = await post(`${url}/resolve`);
    assert.equal(resolve.statusCode, 200);
    const resolved = resolve.json() as Incident;
    assert.equal(resolved.status, 'resolved');
    assert.deepEqual(
      resolved.timeline.map((t) => [t.type, t.by ?? null]),
      [
        ['created', null],
        ['acknowledged', 'bob'],
        ['commented', 'bob'],
        ['assigned', 'bob'],
        ['commented', 'carol'],
        ['resolved', null],
      ],
    );
    assert.deepEqual(
      host.events.slice(from).map((e) => [e.channel, e.kind, e.data.id]),
      [
        ['incidents', 'incident_updated', id],
        ['incidents', 'incident_assigned', id],
        ['incidents', 'incident_commented', id],
        ['incidents', 'incident_resolved', id],
      ],
    );
    assert.deepEqual(host.events.at(-1)!.data, resolved, 'events carry the whole incident');

    const again = await post(`${url}/resolve`, { by: 'dave' });
    assert.deepEqual([again.statusCode, (again.json() as Incident).resolved_by], [200, undefined]);
    assert.equal(host.events.length, from + 4, 'resolving twice publishes nothing');
    const lateAck = await post(`${url}/ack`, { by: 'dave' });
    assert.equal(lateAck.statusCode, 400);
    assert.match(errorOf(lateAck).message, /resolved/);
    const unassign = await post(`${url}/assign`, { assignee: null });
    assert.equal((unassign.json() as Incident).assignee, null);
  });

  test('validation errors name the field; unknown incidents are not_found', async () => {
    await service.idle();
    const id = (await service.list({ status: 'open' }))[0]!.id;
    const cases: [string, object | undefined, RegExp][] = [
      ['ack', {}, /by/],
      ['ack', { by: 5 }, /by/],
      ['ack', { by: '' }, /by/],
      ['ack', { by: 'x', extra: 1 }, /additional/],
      ['assign', { by: 'x' }, /assignee/],
      ['comments', { by: 'x' }, /text/],
      ['comments', { by: 'x', text: 7 }, /text/],
      ['resolve', { by: 3 }, /by/],
    ];
    for (const [action, body, field] of cases) {
      const res = await post(`/api/v1/incidents/${id}/${action}`, body);
      assert.equal(res.statusCode, 400, `${action} ${JSON.stringify(body)}`);
      assert.equal(errorOf(res).code, 'bad_request');
      assert.match(errorOf(res).message, field, `${action} ${JSON.stringify(body)}`);
    }
    for (const [action, body] of [
      ['ack', { by: 'x' }],
      ['assign', { assignee: 'x' }],
      ['comments', { by: 'x', text: 'y' }],
      ['resolve', {}],
    ] as const) {
      const res = await post(`/api/v1/incidents/inc_missing/${action}`, body);
      assert.deepEqual([res.statusCode, errorOf(res).code], [404, 'not_found'], action);
    }
    assert.equal((await service.getOrThrow(id)).status, 'open', 'failed requests changed nothing');
  });
});

test('incident events reach WebSocket subscribers of a real hub', async () => {
  const h = await startHub();
  const bus = new ScriptedAlertBus();
  // The hub's own method registry is left alone, so this test holds whether or not the hub wires its own incidents.
  const { part } = createIncidentsPart(
    { config: h.hub.config, state: h.hub.state, methods: new MethodRegistry(), emit: (c, k, d) => h.hub.emit(c, k, d) },
    bus,
  );
  part.start?.();
  const client = await TestClient.connect(`${h.wsUrl}?channels=incidents`);
  try {
    const alert = bus.fire({ rule: 'HighCPU', severity: 'error' });
    const ev = await client.next((f) => f.type === 'event' && f.channel === 'incidents');
    const data = ev.data as Incident;
    assert.equal(ev.kind, 'incident_created');
    assert.deepEqual([data.alerts, data.priority, data.status], [[alert.id], 'P2', 'open']);
    bus.resolve(alert.id);
    const resolved = await client.next((f) => f.type === 'event' && f.kind === 'incident_resolved');
    assert.equal((resolved.data as Incident).id, data.id);
  } finally {
    client.close();
    await part.stop?.();
    await h.stop();
  }
});
