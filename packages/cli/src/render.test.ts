/**
 * @module render.test
 * The tail line renderers: each built-in kind's compact form and tone, the JSON fallback, and whole lines with and
 * without colour.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { painter } from './color.js';
import {
  compactJson,
  eventFrameJson,
  renderData,
  renderEventLine,
  renderSnapshotLine,
  snapshotFrameJson,
} from './render.js';

test('metric_update renders name{labels} = value, uncoloured', () => {
  const r = renderData('metric_update', {
    metric: 'system.cpu.usage',
    ts: 1,
    value: 12.3456,
    labels: { cpu: 'total' },
  });
  assert.deepEqual(r, { text: 'system.cpu.usage{cpu="total"} = 12.346', tone: undefined });
  assert.equal(renderData('metric_update', { metric: 'up', value: 1, labels: {} }).text, 'up = 1');
  assert.equal(
    renderData('metric_update', { metric: 'x', value: 2, labels: { b: '2', a: 'q"uote' } }).text,
    'x{a="q\\"uote",b="2"} = 2',
  );
});

test('alert renders status severity rule{labels} value threshold ack, toned by severity or resolved', () => {
  const firing = {
    id: 'a1',
    rule: 'cpu-high',
    status: 'firing',
    severity: 'critical',
    value: 97.5,
    threshold: 90,
    labels: { host: 'web-1' },
  };
  assert.deepEqual(renderData('alert', firing), {
    text: 'firing critical cpu-high{host="web-1"} value=97.5 threshold=90',
    tone: 'critical',
  });
  assert.equal(renderData('alert', { ...firing, severity: 'error' }).tone, 'error');
  assert.equal(renderData('alert', { ...firing, severity: 'warning' }).tone, 'warning');
  assert.equal(renderData('alert', { ...firing, severity: 'info' }).tone, 'info');
  const resolved = renderData('alert', { ...firing, status: 'resolved', acknowledged_by: 'ann', value: null });
  assert.deepEqual(resolved, {
    text: 'resolved critical cpu-high{host="web-1"} threshold=90 acked by ann',
    tone: 'resolved',
  });
});

test('task_update renders name progress% eta, toned by status', () => {
  const task = { id: 't1', name: 'backup', status: 'running', progress: 0.426, eta_s: 95, errors: 0 };
  assert.deepEqual(renderData('task_update', task), { text: 'backup 43% eta 1m35s', tone: undefined });
  assert.deepEqual(renderData('task_update', { ...task, status: 'failed', errors: 3, eta_s: null }), {
    text: 'backup 43% eta - failed errors=3',
    tone: 'error',
  });
  assert.equal(renderData('task_update', { ...task, status: 'stalled' }).tone, 'warning');
  assert.equal(renderData('task_update', { ...task, status: 'succeeded', progress: 1 }).tone, 'resolved');
});

test('incident_* renders id "title" status priority, toned by severity', () => {
  const inc = { id: 'INC-7', title: 'API down', status: 'open', priority: 'P1', severity: 'critical', assignee: 'bo' };
  assert.deepEqual(renderData('incident_created', inc), { text: 'INC-7 "API down" open P1 @bo', tone: 'critical' });
  assert.equal(renderData('incident_resolved', { ...inc, status: 'resolved' }).tone, 'resolved');
});

test('system_status renders the headline figures', () => {
  const d = {
    status: 'ok',
    cpu: { usage_percent: 49.75, load_1m: 3.19 },
    memory: { used_percent: 4.34 },
    connections: 2,
  };
  assert.deepEqual(renderData('system_status', d), {
    text: 'ok cpu 49.8% load 3.19 mem 4.3% connections 2',
    tone: undefined,
  });
  assert.equal(renderData('system_status', { ...d, status: 'degraded' }).tone, 'warning');
});

test('other kinds and misshapen data fall back to compact JSON', () => {
  assert.deepEqual(renderData('greeting', { text: 'hi' }), { text: '{"text":"hi"}', tone: undefined });
  assert.deepEqual(renderData('message', 'plain'), { text: '"plain"', tone: undefined });
  assert.deepEqual(renderData('alert', { nope: 1 }), { text: '{"nope":1}', tone: undefined });
  assert.deepEqual(renderData('metric_update', [1, 2]), { text: '[1,2]', tone: undefined });
  assert.equal(renderData('deploy', { severity: 'warning' }).tone, 'warning');
  assert.equal(renderData('check', { status: 'resolved' }).tone, 'resolved');
  const long = compactJson({ s: 'x'.repeat(1000) });
  assert.equal(long.length, 400);
  assert.ok(long.endsWith('…'));
});

test('a line is time, channel, kind and data; coloured whole when colour is on', () => {
  const e = { channel: 'alerts', ts: 0, kind: 'alert', data: { rule: 'r', status: 'firing', severity: 'warning' } };
  const time = () => '12:00:00.000';
  assert.equal(renderEventLine(e, painter(false), time), '12:00:00.000 alerts alert firing warning r');
  assert.equal(renderEventLine(e, painter(true), time), '\x1b[33m12:00:00.000 alerts alert firing warning r\x1b[0m');
  const plain = { channel: 'demo.x', ts: 0, kind: 'message', data: { a: 1 } };
  assert.equal(renderEventLine(plain, painter(true), time), '12:00:00.000 demo.x message {"a":1}');
});

test('--json prints the raw event frame', () => {
  const e = { channel: 'demo.x', offset: 3, ts: 5, kind: 'message', data: { a: 1 }, epoch: 'e1' };
  assert.deepEqual(JSON.parse(eventFrameJson(e)), {
    type: 'event',
    channel: 'demo.x',
    offset: 3,
    ts: 5,
    kind: 'message',
    data: { a: 1 },
  });
});

test('snapshots print as a line of their own, or as the raw snapshot frame', () => {
  const snap = { channel: 'system.status', offset: 7, data: { status: 'ok' } };
  assert.equal(
    renderSnapshotLine(snap, painter(false), () => 'T'),
    'T system.status snapshot ok',
  );
  const app = { channel: 'app.state', offset: 1, data: { a: 1 } };
  assert.equal(
    renderSnapshotLine(app, painter(false), () => 'T'),
    'T app.state snapshot {"a":1}',
  );
  assert.deepEqual(JSON.parse(snapshotFrameJson(snap)), { type: 'snapshot', ...snap });
});
