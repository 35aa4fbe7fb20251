/**
 * @module tasks.test
 * The tasks part in a real hub: REST CRUD and validation errors, `task_update` events to a WebSocket subscriber,
 * the `tasks.list` call, stall detection on real timers, and a restart on the same data directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { Hub } from '../hub.js';
import { type RunningHub, sleep, startHub, TestClient } from '../testing/hub-fixture.js';
import type { Task } from './task-store.js';

const QUIET = { metrics: { collect_interval: 0 } };

describe('tasks over HTTP and WebSocket', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ ...QUIET, tasks: { stall_after: 500, check_interval: 100 } });
  });
  after(() => h.stop());

  const call = async (method: string, url: string, payload?: unknown) => {
    const res = await h.hub.app.inject({ method: method as 'GET', url, payload: payload as object | undefined });
    return { status: res.statusCode, body: res.json() as Task & { error: { code: string; message: string } } };
  };

  test('create, update, get and list', async () => {
    const created = await call('POST', '/api/v1/tasks', { name: 'reindex', total: 400, details: { index: 'users' } });
    assert.equal(created.status, 201);
    const id = created.body.id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      [created.body.status, created.body.progress, created.body.processed, created.body.total, created.body.errors],
      ['running', 0, 0, 400, 0],
    );

    const patched = await call('PATCH', `/api/v1/tasks/${id}`, { processed: 100, errors: 2, details: { node: 'a' } });
    assert.equal(patched.status, 200);
    assert.deepEqual([patched.body.progress, patched.body.errors], [0.25, 2]);
    assert.deepEqual(patched.body.details, { index: 'users', node: 'a' });

    const got = await call('GET', `/api/v1/tasks/${id}`);
    assert.deepEqual(got.body, patched.body);

    const done = await call('PATCH', `/api/v1/tasks/${id}`, { processed: 400, status: 'succeeded' });
    assert.deepEqual([done.body.status, done.body.progress, done.body.eta_s], ['succeeded', 1, null]);
    assert.equal(typeof done.body.ended_at, 'number');

    await call('POST', '/api/v1/tasks', { name: 'other' });
    const list = await call('GET', '/api/v1/tasks?limit=1');
    const listed = (list.body as unknown as { tasks: Task[] }).tasks;
    assert.deepEqual(
      listed.map((t) => t.name),
      ['other'],
    );
    const succeeded = (await call('GET', '/api/v1/tasks?status=succeeded')).body as unknown as { tasks: Task[] };
    assert.deepEqual(
      succeeded.tasks.map((t) => t.id),
      [id],
    );
  });

  test('validation and state errors carry registry codes', async () => {
    const bad: [string, string, unknown, number, string, RegExp][] = [
      ['POST', '/api/v1/tasks', { name: '' }, 400, 'bad_request', /body\/name/],
      ['POST', '/api/v1/tasks', { name: 'x'.repeat(201) }, 400, 'bad_request', /body\/name/],
      ['POST', '/api/v1/tasks', { name: 'x', total: 0 }, 400, 'bad_request', /body\/total/],
      ['POST', '/api/v1/tasks', { name: 'x', total: 2.5 }, 400, 'bad_request', /body\/total/],
      ['POST', '/api/v1/tasks', { name: 'x', details: [1] }, 400, 'bad_request', /body\/details/],
      ['POST', '/api/v1/tasks', { name: 'x', owner: 'me' }, 400, 'bad_request', /additional/],
      ['PATCH', '/api/v1/tasks/nope', {}, 404, 'not_found', /No task 'nope'/],
      ['GET', '/api/v1/tasks/nope', undefined, 404, 'not_found', /No task 'nope'/],
      ['GET', '/api/v1/tasks?status=paused', undefined, 400, 'bad_request', /querystring\/status/],
      ['GET', '/api/v1/tasks?limit=0', undefined, 400, 'bad_request', /querystring\/limit/],
    ];
    for (const [method, url, payload, status, code, message] of bad) {
      const res = await call(method, url, payload);
      assert.equal(res.status, status, `${method} ${url} ${JSON.stringify(payload)}`);
      assert.equal(res.body.error.code, code);
      assert.match(res.body.error.message, message);
    }
    const { body } = await call('POST', '/api/v1/tasks', { name: 'patch me' });
    for (const patch of [{ progress: 1.5 }, { processed: -1 }, { status: 'stalled' }, { errors: 'many' }]) {
      const res = await call('PATCH', `/api/v1/tasks/${body.id}`, patch);
      assert.deepEqual([res.status, res.body.error.code], [400, 'bad_request'], JSON.stringify(patch));
    }
    await call('PATCH', `/api/v1/tasks/${body.id}`, { status: 'cancelled' });
    const again = await call('PATCH', `/api/v1/tasks/${body.id}`, { status: 'running' });
    assert.equal(again.status, 400);
    assert.match(again.body.error.message, /cancelled; a finished task cannot become running/);
  });

  test('every change reaches a subscriber of `tasks`; tasks.list answers over WebSocket', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['tasks'] });
    const { body } = await call('POST', '/api/v1/tasks', { name: 'watched', total: 10 });
    await call('PATCH', `/api/v1/tasks/${body.id}`, { processed: 5 });
    await call('PATCH', `/api/v1/tasks/${body.id}`, { processed: 10, status: 'succeeded' });
    const mine = () => c.events('tasks').filter((e) => (e.data as Task).id === body.id);
    await c.next((f) => f.type === 'event' && (f.data as Task).status === 'succeeded');
    assert.deepEqual(
      mine().map((e) => [e.kind, (e.data as Task).processed, (e.data as Task).status]),
      [
        ['task_update', 0, 'running'],
        ['task_update', 5, 'running'],
        ['task_update', 10, 'succeeded'],
      ],
    );
    const last = mine().at(-1)!.data as Task;
    assert.deepEqual(Object.keys(last).sort(), [
      'details',
      'ended_at',
      'errors',
      'eta_s',
      'id',
      'name',
      'processed',
      'progress',
      'started_at',
      'status',
      'total',
      'updated_at',
    ]);

    const reply = await c.request({ op: 'call', method: 'tasks.list', params: { status: 'succeeded', limit: 1 } });
    assert.equal(reply.ok, true);
    assert.deepEqual(
      (reply.result as { tasks: Task[] }).tasks.map((t) => t.id),
      [body.id],
    );
    const all = await c.request({ op: 'call', method: 'tasks.list' });
    assert.ok((all.result as { tasks: Task[] }).tasks.length >= 2);
    const wrong = await c.request({ op: 'call', method: 'tasks.list', params: { limit: 'all' } });
    assert.deepEqual([wrong.ok, (wrong.error as { code: string }).code], [false, 'bad_request']);
    c.close();
  });

  test('a silent task stalls on the real timer and a report revives it', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['tasks'], filter: { states: ['stalled'] } });
    const { body } = await call('POST', '/api/v1/tasks', { name: 'sleepy' });
    const ev = await c.next((f) => f.type === 'event' && (f.data as Task).id === body.id, 3000);
    assert.equal((ev.data as Task).stalled_since, body.started_at + 500);
    const revived = await call('PATCH', `/api/v1/tasks/${body.id}`, {});
    assert.equal(revived.body.status, 'running');
    assert.equal(revived.body.stalled_since, undefined);
    await call('PATCH', `/api/v1/tasks/${body.id}`, { status: 'failed' });
    c.close();
  });
});

test('tasks and their state survive a restart on the same data directory; stall timers resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-tasks-restart-'));
  const boot = async () => {
    const config = loadConfig({
      env: {},
      cwd: dir,
      overrides: {
        host: '127.0.0.1',
        port: 0,
        data_dir: dir,
        log_level: 'silent',
        tasks: { stall_after: 1000, check_interval: 100 },
        ...QUIET,
      },
    });
    const hub = await Hub.create(config, { logger: pino({ level: 'silent' }) });
    await hub.listen();
    return hub;
  };
  try {
    const first = await boot();
    const running = await first.tasks.create({ name: 'migrate', total: 100, details: { db: 'main' } });
    await first.tasks.update(running.id, { processed: 40, errors: 1 });
    const failed = await first.tasks.create({ name: 'export' });
    await first.tasks.update(failed.id, { status: 'failed', details: { reason: 'disk full' } });
    const before = [await first.tasks.require(running.id), await first.tasks.require(failed.id)] as const;
    assert.equal(before[0].status, 'running');
    await first.stop();
    await sleep(before[0].updated_at + 1100 - Date.now());

    const second = await boot();
    try {
      const res = await second.app.inject({ url: '/api/v1/tasks' });
      const tasks = (res.json() as { tasks: Task[] }).tasks;
      assert.deepEqual(
        tasks.map((t) => t.id),
        [failed.id, running.id],
      );
      assert.deepEqual(tasks[0], before[1], 'the finished task is intact');
      assert.deepEqual(
        tasks[1],
        { ...before[0], status: 'stalled', eta_s: null, stalled_since: before[0].updated_at + 1000 },
        'the running task stalled from its persisted last report, as soon as the hub came back',
      );
      const resumed = await second.tasks.update(running.id, { processed: 50 });
      assert.deepEqual([resumed.status, resumed.progress, resumed.errors], ['running', 0.5, 1]);
      await assert.rejects(second.tasks.update(failed.id, { status: 'running' }), { code: 'bad_request' });
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
