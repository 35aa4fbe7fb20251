/**
 * @module task-service.test
 * The task service on a real SQLite file with a fake clock: progress derivation, final states, ETA accuracy on
 * synthetic jobs, stall detection with its alert, recovery, retention, and state that survives reopening the database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Alert, AlertBus, ExternalAlertInput } from '../alerts/types.js';
import { SqliteStateStore } from '../storage/sqlite-state-store.js';
import type { TasksConfig } from './config.js';
import { TaskService } from './task-service.js';
import type { Task } from './task-store.js';

/** An AlertBus that records what it is asked to raise. */
class RecordingAlerts implements AlertBus {
  readonly raised: ExternalAlertInput[] = [];
  onChange(): void {}
  async raise(input: ExternalAlertInput): Promise<Alert> {
    return this.raiseExternal(input);
  }
  raiseExternal(input: ExternalAlertInput): Alert {
    this.raised.push(input);
    return {
      id: `a${this.raised.length}`,
      rule: input.name,
      status: input.status,
      severity: input.severity ?? 'warning',
      value: null,
      threshold: null,
      labels: input.labels ?? {},
      annotations: input.annotations ?? {},
      starts_at: 0,
      source: 'external',
      fingerprint: input.name,
      silenced: false,
      updated_at: 0,
    };
  }
  async get(): Promise<Alert | undefined> {
    return undefined;
  }
  active(): Alert[] {
    return [];
  }
}

const CONFIG: TasksConfig = {
  stallAfterMs: 60_000,
  checkIntervalMs: 5_000,
  alertOnStall: true,
  retentionMs: 3_600_000,
};

describe('TaskService', () => {
  let dir: string;
  let db: SqliteStateStore;
  let clock: number;
  let events: { channel: string; kind: string; data: Task }[];
  let alerts: RecordingAlerts;
  let service: TaskService;

  const make = (config: TasksConfig = CONFIG) =>
    new TaskService({
      store: db,
      config,
      emit: async (channel, kind, data) => {
        events.push({ channel, kind, data: structuredClone(data as Task) });
      },
      alerts,
      now: () => clock,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-tasks-'));
    db = new SqliteStateStore({ path: join(dir, 'state.db') }).openSync();
    clock = 1_700_000_000_000;
    events = [];
    alerts = new RecordingAlerts();
    service = make();
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('progress is derived from processed/total unless given; success completes it', async () => {
    const t = await service.create({ name: 'import', total: 200, details: { source: 's3' } });
    assert.deepEqual([t.status, t.progress, t.processed, t.eta_s], ['running', 0, 0, null]);
    clock += 1000;
    let u = await service.update(t.id, { processed: 50, details: { shard: 2 } });
    assert.equal(u.progress, 0.25);
    assert.deepEqual(u.details, { source: 's3', shard: 2 });
    u = await service.update(t.id, { progress: 0.3 });
    assert.deepEqual([u.progress, u.processed], [0.3, 50]);
    u = await service.update(t.id, { total: 100 });
    assert.equal(u.progress, 0.5, 'a new total re-derives progress');
    clock += 1000;
    u = await service.update(t.id, { status: 'succeeded' });
    assert.deepEqual([u.status, u.progress, u.eta_s, u.ended_at], ['succeeded', 1, null, clock]);
    assert.equal(events.length, 5);
    assert.ok(events.every((e) => e.channel === 'tasks' && e.kind === 'task_update'));
    assert.deepEqual(events.at(-1)!.data, u);

    const free = await service.create({ name: 'no total' });
    assert.equal(free.progress, null);
    assert.equal((await service.update(free.id, { processed: 10 })).progress, null);
  });

  test('a finished task is final; a retried final report is accepted as is', async () => {
    const t = await service.create({ name: 'job', total: 10 });
    const done = await service.update(t.id, { processed: 10, status: 'failed', errors: 3 });
    const count = events.length;
    clock += 5000;
    assert.deepEqual(await service.update(t.id, { processed: 10, status: 'failed', errors: 3 }), done);
    assert.deepEqual(await service.update(t.id, {}), done);
    assert.equal(events.length, count, 'no event for a no-op');
    await assert.rejects(service.update(t.id, { status: 'running' }), {
      code: 'bad_request',
      message: /failed; a finished task cannot become running/,
    });
    await assert.rejects(service.update(t.id, { errors: 4 }), { code: 'bad_request' });
    await assert.rejects(service.update('nope', {}), { code: 'not_found' });
  });

  test('details over the size limit are refused', async () => {
    await assert.rejects(service.create({ name: 'big', details: { blob: 'x'.repeat(20_000) } }), {
      code: 'bad_request',
    });
  });

  test('ETA on a steady job (1,000 items at 10/s, reported every second) is within 10% of the truth', async () => {
    const t = await service.create({ name: 'steady', total: 1000 });
    const worst = { error: 0 };
    for (let s = 1; s <= 99; s++) {
      clock += 1000;
      const u = await service.update(t.id, { processed: s * 10 });
      const truth = (1000 - s * 10) / 10;
      const error = Math.abs(u.eta_s! - truth) / truth;
      worst.error = Math.max(worst.error, error);
      if ([1, 10, 50, 90, 99].includes(s)) assert.ok(error <= 0.1, `at ${s}s: eta ${u.eta_s} vs ${truth}`);
    }
    assert.ok(worst.error < 0.01, `worst relative error ${worst.error}`);
  });

  test('ETA on a jittery job (rate ±30%, reports every 0.5–1.5 s) stays within 10% after warm-up', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const total = 10_000;
    const t = await service.create({ name: 'jittery', total });
    let exact = 0;
    let elapsed = 0;
    const errors: number[] = [];
    while (exact < total * 0.95) {
      const dt = 500 + random() * 1000;
      exact = Math.min(total, exact + 10 * (0.7 + random() * 0.6) * (dt / 1000) * 10);
      elapsed += dt;
      clock += Math.round(dt);
      const u = await service.update(t.id, { processed: Math.floor(exact) });
      const truth = (total - Math.floor(exact)) / 100;
      if (elapsed > 30_000) errors.push(Math.abs(u.eta_s! - truth) / truth);
    }
    const worst = Math.max(...errors);
    assert.ok(worst <= 0.1, `worst relative error ${worst.toFixed(3)} over ${errors.length} reports`);
  });

  test('the ETA follows a change of pace and grows during a pause', async () => {
    const t = await service.create({ name: 'pace', total: 3000 });
    let done = 0;
    for (let s = 0; s < 60; s++) {
      clock += 1000;
      done += 10;
      await service.update(t.id, { processed: done });
    }
    let u: Task | undefined;
    for (let s = 0; s < 90; s++) {
      clock += 1000;
      done += 20;
      u = await service.update(t.id, { processed: done });
    }
    const truth = (3000 - done) / 20;
    assert.ok(Math.abs(u!.eta_s! - truth) / truth <= 0.1, `after speeding up: ${u!.eta_s} vs ${truth}`);
    clock += 30_000;
    const paused = await service.update(t.id, { details: { note: 'waiting' } });
    assert.ok(paused.eta_s! > u!.eta_s! * 2, `a 30 s pause raises the ETA (${u!.eta_s} -> ${paused.eta_s})`);
  });

  test('a silent running task stalls, raises task_stalled, and recovers on its next report', async () => {
    const t = await service.create({ name: 'nightly backup', total: 100 });
    clock += 59_999;
    assert.deepEqual(await service.check(), { stalled: 0, purged: 0 });
    clock += 1;
    assert.deepEqual(await service.check(), { stalled: 1, purged: 0 });
    const stalled = await service.require(t.id);
    assert.deepEqual([stalled.status, stalled.stalled_since, stalled.eta_s], ['stalled', t.started_at + 60_000, null]);
    assert.equal(events.at(-1)!.data.status, 'stalled');
    assert.deepEqual(alerts.raised, [
      {
        name: 'task_stalled',
        status: 'firing',
        severity: 'warning',
        labels: { task_id: t.id, task_name: 'nightly backup' },
        annotations: { summary: "Task 'nightly backup' has reported nothing for 60s" },
      },
    ]);
    assert.deepEqual(await service.check(), { stalled: 0, purged: 0 }, 'a stalled task stalls once');

    clock += 10_000;
    const back = await service.update(t.id, { processed: 5 });
    assert.equal(back.status, 'running');
    assert.equal(back.stalled_since, undefined);
    assert.equal(alerts.raised.length, 2);
    assert.deepEqual([alerts.raised[1]!.status, alerts.raised[1]!.labels], ['resolved', alerts.raised[0]!.labels]);

    clock += 60_000;
    await service.check();
    await service.update(t.id, { status: 'cancelled' });
    assert.deepEqual(
      alerts.raised.map((a) => a.status),
      ['firing', 'resolved', 'firing', 'resolved'],
      'finishing a stalled task resolves its alert',
    );
  });

  test('no alert without alert_on_stall; stall_after 0 turns detection off', async () => {
    const quiet = make({ ...CONFIG, alertOnStall: false });
    const t = await quiet.create({ name: 'a' });
    clock += 120_000;
    assert.equal((await quiet.check()).stalled, 1);
    assert.equal((await quiet.require(t.id)).status, 'stalled');
    assert.equal(alerts.raised.length, 0);

    const off = make({ ...CONFIG, stallAfterMs: 0 });
    await off.create({ name: 'b' });
    clock += 10 * 86_400_000;
    assert.equal((await off.check()).stalled, 0);
  });

  test('finished tasks are deleted past retention; unfinished ones are kept', async () => {
    const old = await service.create({ name: 'old' });
    await service.update(old.id, { status: 'succeeded' });
    const keep = await service.create({ name: 'still running' });
    clock += 3_600_000 - 1;
    assert.equal((await service.check()).purged, 0);
    clock += 1;
    assert.equal((await service.check()).purged, 1);
    assert.equal(await service.get(old.id), undefined);
    assert.equal((await service.require(keep.id)).status, 'stalled');
  });

  test('active() holds running and stalled tasks, most recently updated first, and is reloaded at start', async () => {
    const a = await service.create({ name: 'a' });
    clock += 1000;
    const b = await service.create({ name: 'b' });
    clock += 1000;
    await service.update(a.id, { processed: 1 });
    assert.deepEqual(
      service.active().map((t) => t.name),
      ['a', 'b'],
    );
    await service.update(b.id, { status: 'succeeded' });
    assert.deepEqual(
      service.active().map((t) => [t.name, t.processed]),
      [['a', 1]],
    );
    const again = make();
    await again.start();
    try {
      assert.deepEqual(again.active(), service.active());
    } finally {
      await again.stop();
    }
  });

  test('list is newest first, filtered by status and limited', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      ids.push((await service.create({ name: `t${i}` })).id);
    }
    await service.update(ids[1]!, { status: 'failed' });
    assert.deepEqual(
      (await service.list()).map((t) => t.name),
      ['t4', 't3', 't2', 't1', 't0'],
    );
    assert.deepEqual(
      (await service.list({ status: 'failed' })).map((t) => t.id),
      [ids[1]],
    );
    assert.equal((await service.list({ limit: 2 })).length, 2);
  });

  test('state and ETA survive reopening the database', async () => {
    const t = await service.create({ name: 'durable', total: 1000, details: { k: 'v' } });
    for (let s = 1; s <= 10; s++) {
      clock += 1000;
      await service.update(t.id, { processed: s * 10 });
    }
    const before = await service.require(t.id);
    await db.close();
    db = new SqliteStateStore({ path: join(dir, 'state.db') }).openSync();
    const reopened = make();
    assert.deepEqual(await reopened.require(t.id), before);
    clock += 1000;
    const u = await reopened.update(t.id, { processed: 110 });
    assert.equal(u.eta_s, 89, 'the rate carried over the restart');
  });
});
