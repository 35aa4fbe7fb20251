/**
 * @module storage/state-store-conformance
 * The shared conformance suite every StateStore engine must pass, through the interface only: rules, alerts with
 * their transitions and history queries, silences, incidents with members, tasks with their ETA state, hosts, the bounded
 * dead-letter log, numbers and text that round-trip exactly, and everything surviving a close and reopen. An
 * engine's test file calls `stateStoreConformance()`; see sqlite-state-store.test.ts and postgres-state-store.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { StoredAlert } from '../alerts/alert-store.js';
import type { HostRecord } from '../fleet/host-store.js';
import type { Incident } from '../incidents/types.js';
import type { Task } from '../tasks/task-store.js';
import type { StateStore } from './state-store.js';

export interface StateStoreTarget {
  /** A new, empty place for a store (a file path, a schema name). */
  newPlace(): string | Promise<string>;
  /** An unopened store on `place`, keeping at most `maxFailures` dead-letter rows. Called again after `close()`. */
  make(place: string, opts: { maxFailures: number }): StateStore;
  /** Removes what `newPlace` made (optional). */
  dropPlace?(place: string): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

function alert(id: string, over: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id,
    rule: 'HighCPU',
    status: 'firing',
    severity: 'warning',
    value: 0.1 + 0.2,
    threshold: 90,
    labels: { host: 'a', ünïcode: 'ok "quoted"' },
    annotations: { summary: 'CPU high' },
    starts_at: T0,
    source: 'rule',
    fingerprint: `fp-${id}`,
    silenced: false,
    updated_at: T0,
    series_key: `cpu{host="a"}#${id}`,
    clear_since: null,
    flapping: false,
    ...over,
  };
}

function incident(id: string, created: number, over: Partial<Incident> = {}): Incident {
  return {
    id,
    title: `Incident ${id}`,
    status: 'open',
    priority: 'P3',
    severity: 'warning',
    group_key: `{alertname="${id}"}`,
    labels: { alertname: id },
    alerts: [],
    firing: 1,
    assignee: null,
    comments: [],
    timeline: [{ at: created, type: 'created', detail: 'Opened' }],
    created_at: created,
    updated_at: created,
    escalation_level: 0,
    ...over,
  };
}

function task(id: string, started: number, over: Partial<Task> = {}): Task {
  return {
    id,
    name: `task ${id}`,
    status: 'running',
    progress: 0.25,
    processed: 25,
    total: 100,
    errors: 0,
    eta_s: 12.5,
    details: { nested: { k: [1, 2, 3] } },
    started_at: started,
    updated_at: started,
    ...over,
  };
}

export function stateStoreConformance(engine: string, target: StateStoreTarget): void {
  describe(`StateStore conformance: ${engine}`, () => {
    const places: string[] = [];
    const open: StateStore[] = [];

    async function fresh(
      maxFailures = 1000,
    ): Promise<{ store: StateStore; place: string; reopen(): Promise<StateStore> }> {
      const place = await target.newPlace();
      places.push(place);
      const store = target.make(place, { maxFailures });
      await store.open();
      open.push(store);
      return {
        store,
        place,
        reopen: async () => {
          await store.close();
          const again = target.make(place, { maxFailures });
          await again.open();
          open.push(again);
          return again;
        },
      };
    }

    after(async () => {
      for (const s of open) await s.close().catch(() => {});
      for (const p of places) await target.dropPlace?.(p);
    });

    test('opening twice on the same place migrates once and keeps the data', async () => {
      const { store, reopen } = await fresh();
      await store.saveRule('r1', { name: 'r1', metric: 'cpu', op: '>', threshold: 1 }, T0);
      const again = await reopen();
      assert.deepEqual(await again.rules(), [
        { name: 'r1', spec: JSON.stringify({ name: 'r1', metric: 'cpu', op: '>', threshold: 1 }) },
      ]);
    });

    test('rules: create, replace, list by name, delete', async () => {
      const { store } = await fresh();
      await store.saveRule('b', { v: 1 }, T0);
      await store.saveRule('a', { v: 2 }, T0);
      await store.saveRule('b', { v: 3 }, T0 + 1);
      assert.deepEqual(await store.rules(), [
        { name: 'a', spec: '{"v":2}' },
        { name: 'b', spec: '{"v":3}' },
      ]);
      await store.deleteRule('a');
      await store.deleteRule('missing');
      assert.deepEqual(
        (await store.rules()).map((r) => r.name),
        ['b'],
      );
    });

    test('alerts: upserts and transitions in one batch; active, get, transitions, exact values', async () => {
      const { store } = await fresh();
      const a = alert('a1');
      const b = alert('b1', { rule: 'Disk', source: 'external', series_key: null, silenced: true, flapping: true });
      await store.saveAlerts([
        {
          alert: { ...a, status: 'pending' },
          transition: { at: T0, status: 'pending', severity: 'warning', value: 1, note: null },
        },
        { alert: a, transition: { at: T0, status: 'firing', severity: 'warning', value: a.value, note: 'x' } },
        { alert: b },
      ]);
      assert.deepEqual(await store.getAlert('a1'), a);
      assert.deepEqual(await store.getAlert('b1'), b);
      assert.equal(await store.getAlert('nope'), undefined);
      assert.deepEqual((await store.activeAlerts()).map((x) => x.id).sort(), ['a1', 'b1']);
      assert.deepEqual(await store.transitions('a1'), [
        { at: T0, status: 'pending', severity: 'warning', value: 1, note: null },
        { at: T0, status: 'firing', severity: 'warning', value: 0.1 + 0.2, note: 'x' },
      ]);
      assert.deepEqual(await store.transitions('b1'), []);

      const resolved: StoredAlert = {
        ...a,
        status: 'resolved',
        ends_at: T0 + 5000,
        acknowledged_by: 'ana',
        acknowledged_at: T0 + 1000,
        ack_comment: 'on it',
        value: null,
        clear_since: T0 + 4000,
        updated_at: T0 + 5000,
      };
      await store.saveAlerts([
        {
          alert: resolved,
          transition: { at: T0 + 5000, status: 'resolved', severity: 'warning', value: null, note: null },
        },
      ]);
      assert.deepEqual(await store.getAlert('a1'), resolved);
      assert.deepEqual(
        (await store.activeAlerts()).map((x) => x.id),
        ['b1'],
      );
      assert.equal((await store.transitions('a1')).length, 3);
      await store.saveAlerts([]);
    });

    test('alert history: filters by state, rule and since, newest change first, limited', async () => {
      const { store } = await fresh();
      const writes = [];
      for (let i = 0; i < 10; i++) {
        writes.push({
          alert: alert(`h${i}`, {
            rule: i % 2 ? 'Odd' : 'Even',
            status: i < 3 ? 'resolved' : 'firing',
            updated_at: T0 + i * 1000,
          }),
        });
      }
      await store.saveAlerts(writes);
      const ids = async (q: Parameters<StateStore['queryAlerts']>[0]) => (await store.queryAlerts(q)).map((a) => a.id);
      assert.deepEqual(await ids({ limit: 3 }), ['h9', 'h8', 'h7']);
      assert.deepEqual(await ids({ limit: 100, state: 'resolved' }), ['h2', 'h1', 'h0']);
      assert.deepEqual(await ids({ limit: 100, rule: 'Odd', since: T0 + 5000 }), ['h9', 'h7', 'h5']);
      assert.deepEqual(await ids({ limit: 100, rule: 'Even', state: 'firing', since: T0 + 8000 }), ['h8']);
    });

    test('silences: create, end early, newest first', async () => {
      const { store } = await fresh();
      const s1 = {
        id: 's1',
        matchers: '[{"name":"host","value":"a","op":"="}]',
        starts_at: T0,
        ends_at: T0 + 3_600_000,
        created_by: 'ana',
        comment: 'maintenance',
        created_at: T0,
      };
      const s2 = { ...s1, id: 's2', created_at: T0 + 1, comment: 'second' };
      await store.saveSilence(s1);
      await store.saveSilence(s2);
      await store.saveSilence({ ...s1, ends_at: T0 + 60_000, comment: 'ignored on update' });
      assert.deepEqual(await store.silences(), [s2, { ...s1, ends_at: T0 + 60_000 }]);
    });

    test('incidents: members, the incident of an alert, lists newest first, active oldest first', async () => {
      const { store } = await fresh();
      const i1 = incident('i1', T0, { alerts: ['a1', 'a2'], firing: 2 });
      await store.saveIncident(
        {
          incident: i1,
          members: new Map([
            ['a1', 'firing'],
            ['a2', 'firing'],
          ]),
        },
        ['a1', 'a2'],
      );
      const i2 = incident('i2', T0 + 1000, { alerts: ['a3'] });
      await store.saveIncident({ incident: i2, members: new Map([['a3', 'firing']]) }, ['a3']);
      const i3 = incident('i3', T0 + 2000, { status: 'resolved', resolved_at: T0 + 3000, alerts: ['a4'], firing: 0 });
      await store.saveIncident({ incident: i3, members: new Map([['a4', 'resolved']]) }, ['a4']);

      // Only the members named as changed are written.
      const i1b: Incident = { ...i1, firing: 1, updated_at: T0 + 4000, assignee: 'bob' };
      await store.saveIncident(
        {
          incident: i1b,
          members: new Map([
            ['a1', 'resolved'],
            ['a2', 'resolved'],
          ]),
        },
        ['a1'],
      );
      const got = await store.getIncident('i1');
      assert.deepEqual(got?.incident, i1b);
      assert.deepEqual([...(got?.members ?? [])].sort(), [
        ['a1', 'resolved'],
        ['a2', 'firing'],
      ]);
      assert.equal(await store.getIncident('missing'), undefined);
      assert.equal(await store.incidentOfAlert('a4'), 'i3', 'resolved incidents count');
      assert.equal(await store.incidentOfAlert('a9'), undefined);
      assert.deepEqual(
        (await store.listIncidents({ limit: 10 })).map((i) => i.id),
        ['i3', 'i2', 'i1'],
      );
      assert.deepEqual(
        (await store.listIncidents({ limit: 1, status: 'open' })).map((i) => i.id),
        ['i2'],
      );
      const active = await store.activeIncidents();
      assert.deepEqual(
        active.map((r) => r.incident.id),
        ['i1', 'i2'],
      );
      assert.deepEqual([...active[1]!.members], [['a3', 'firing']]);
    });

    test('tasks: insert, update, get with ETA state, list, stale, purge', async () => {
      const { store } = await fresh();
      const rate = { at: T0 + 500, pos: 0.25, rate: 0.001 };
      await store.insertTask({ task: task('t1', T0), rate });
      await store.insertTask({ task: task('t2', T0 + 1000, { total: null, progress: null, eta_s: null }), rate: null });
      await store.insertTask({ task: task('t3', T0 + 2000), rate: { at: T0, pos: 0, rate: null } });
      await assert.rejects(store.insertTask({ task: task('t1', T0), rate: null }), 'an id is inserted once');
      assert.deepEqual(await store.getTask('t1'), { task: task('t1', T0), rate });
      assert.deepEqual(await store.getTask('t3'), {
        task: task('t3', T0 + 2000),
        rate: { at: T0, pos: 0, rate: null },
      });
      assert.equal(await store.getTask('nope'), undefined);

      const done = task('t1', T0, { status: 'succeeded', progress: 1, ended_at: T0 + 9000, updated_at: T0 + 9000 });
      await store.updateTask({ task: done, rate: null });
      assert.deepEqual(await store.getTask('t1'), { task: done, rate: null });
      const stalled = task('t3', T0 + 2000, { status: 'stalled', stalled_since: T0 + 7000, eta_s: null });
      await store.updateTask({ task: stalled, rate: null });

      assert.deepEqual(
        (await store.listTasks({ limit: 10 })).map((t) => t.id),
        ['t3', 't2', 't1'],
      );
      assert.deepEqual(
        (await store.listTasks({ limit: 10, status: 'succeeded' })).map((t) => t.id),
        ['t1'],
      );
      assert.deepEqual(await store.listTasks({ limit: 1, status: 'stalled' }), [stalled]);
      assert.deepEqual(
        (await store.staleRunningTasks(T0 + 1000)).map((r) => r.task.id),
        ['t2'],
      );
      assert.deepEqual(await store.staleRunningTasks(T0 + 999), []);
      assert.equal(await store.purgeFinishedTasks(T0 + 8999), 0);
      assert.equal(await store.purgeFinishedTasks(T0 + 9000), 1);
      assert.equal(await store.getTask('t1'), undefined);
      assert.equal((await store.listTasks({ limit: 10 })).length, 2);
    });

    test('dead-letter log: newest first, since, count, and bounded to max_failures rows', async () => {
      const { store } = await fresh(5);
      const ids: number[] = [];
      for (let i = 0; i < 8; i++) {
        ids.push(
          await store.recordFailure({
            at: T0 + i,
            kind: i % 2 ? 'escalation' : 'alert_webhook',
            url: `http://127.0.0.1:9/${i}`,
            group_key: '{}',
            attempts: 3,
            last_error: 'HTTP 500',
            payload: { n: i, nested: { ok: true } },
          }),
        );
      }
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids rise',
      );
      assert.equal(await store.countFailures(), 5, 'the oldest rows went');
      const all = await store.listFailures({ limit: 100 });
      assert.deepEqual(
        all.map((f) => (f.payload as { n: number }).n),
        [7, 6, 5, 4, 3],
      );
      assert.deepEqual(all[0], {
        id: ids[7],
        at: T0 + 7,
        kind: 'escalation',
        url: 'http://127.0.0.1:9/7',
        group_key: '{}',
        attempts: 3,
        last_error: 'HTTP 500',
        payload: { n: 7, nested: { ok: true } },
      });
      assert.deepEqual(
        (await store.listFailures({ since: T0 + 6, limit: 100 })).map((f) => f.at),
        [T0 + 7, T0 + 6],
      );
      assert.equal((await store.listFailures({ limit: 2 })).length, 2);
    });

    test('hosts: create, replace, list by id, delete', async () => {
      const { store } = await fresh();
      const host = (id: string, over: Partial<HostRecord['host']> = {}): HostRecord['host'] => ({
        id,
        source: 'agent',
        status: 'up',
        labels: { role: 'db', 'zone ü': 'a "b"' },
        info: null,
        first_seen: T0,
        last_seen: T0 + 1000,
        status_since: T0,
        node: 'node-1',
        summary: null,
        ...over,
      });
      await store.saveHost({ host: host('web-2'), lastBatchTs: T0 });
      await store.saveHost({ host: host('db-1', { source: 'hub' }), lastBatchTs: 0 });
      const replaced = host('web-2', { status: 'down', last_seen: T0 + 9000, status_since: T0 + 9000, node: 'node-2' });
      await store.saveHost({ host: replaced, lastBatchTs: T0 + 8000 });
      assert.deepEqual(await store.hosts(), [
        { host: host('db-1', { source: 'hub' }), lastBatchTs: 0 },
        { host: replaced, lastBatchTs: T0 + 8000 },
      ]);
      await store.deleteHost('db-1');
      await store.deleteHost('missing');
      assert.deepEqual(
        (await store.hosts()).map((h) => h.host.id),
        ['web-2'],
      );
    });

    test('everything survives a close and reopen', async () => {
      const { store, reopen } = await fresh();
      const a = alert('p1');
      await store.saveAlerts([
        { alert: a, transition: { at: T0, status: 'firing', severity: 'warning', value: 1, note: null } },
      ]);
      const inc = incident('pi', T0);
      await store.saveIncident({ incident: inc, members: new Map([['p1', 'firing']]) }, ['p1']);
      await store.insertTask({ task: task('pt', T0), rate: null });
      await store.recordFailure({
        at: T0,
        kind: 'alert_webhook',
        url: 'http://127.0.0.1:9/',
        group_key: '{}',
        attempts: 1,
        last_error: 'refused',
        payload: null,
      });
      const again = await reopen();
      assert.deepEqual(await again.activeAlerts(), [a]);
      assert.equal((await again.transitions('p1')).length, 1);
      assert.deepEqual((await again.getIncident('pi'))?.incident, inc);
      assert.deepEqual((await again.getTask('pt'))?.task, task('pt', T0));
      assert.equal(await again.countFailures(), 1);
    });

    test('concurrent writers through two stores on one place see each other', async () => {
      const { store, place } = await fresh();
      const other = target.make(place, { maxFailures: 1000 });
      await other.open();
      open.push(other);
      await Promise.all([
        store.insertTask({ task: task('c1', T0), rate: null }),
        other.insertTask({ task: task('c2', T0 + 1), rate: null }),
        store.saveAlerts([{ alert: alert('ca') }]),
        other.saveAlerts([{ alert: alert('cb') }]),
      ]);
      assert.deepEqual(
        (await store.listTasks({ limit: 10 })).map((t) => t.id),
        ['c2', 'c1'],
      );
      assert.deepEqual((await other.activeAlerts()).map((a) => a.id).sort(), ['ca', 'cb']);
    });
  });
}
