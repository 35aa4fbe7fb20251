/**
 * @module hooks.test
 * The React hooks with react-test-renderer against the fake server: the provider owns or borrows a client, each hook
 * renders live data, a burst of events causes one render, and unmounting removes the subscriptions.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { AlertData, HostData, TaskData } from '@vigil/protocol';
import { createElement as h, type ReactElement } from 'react';
import { create, type ReactTestRenderer } from 'react-test-renderer';
import { VigilClient } from '../client.js';
import type { IncidentData } from '../events.js';
import { FakeServer, sleep, until } from '../testing/fake-server.js';
import {
  useAlerts,
  useChannel,
  useConnectionState,
  useHost,
  useHosts,
  useIncidents,
  useMetric,
  useResources,
  useTasks,
  useTopology,
  VigilProvider,
} from './index.js';

// react-test-renderer 19 warns once per create() that it is deprecated; it still is the DOM-free renderer.
const consoleError = console.error;
console.error = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('react-test-renderer is deprecated')) return;
  consoleError(...args);
};

let server: FakeServer;
let client: VigilClient;
let renderer: ReactTestRenderer | undefined;

beforeEach(async () => {
  server = await FakeServer.start();
  client = new VigilClient({ url: server.url, backoff: { minDelayMs: 10, maxDelayMs: 50 } });
  client.connect();
});

afterEach(async () => {
  renderer?.unmount();
  renderer = undefined;
  client.close();
  await server.stop();
});

interface Probe<T> {
  value: T | undefined;
  renders: number;
}

function HookProbe<T>({ hook, probe }: { hook: () => T; probe: Probe<T> }): ReactElement | null {
  probe.value = hook();
  probe.renders++;
  return null;
}

/** Renders `hook` inside a provider of `client`; `probe.value` is its latest result, `probe.renders` the count. */
function mount<T>(hook: () => T, provider: Record<string, unknown> = { client }): Probe<T> {
  const probe: Probe<T> = { value: undefined, renders: 0 };
  renderer = create(h(VigilProvider, provider, h(HookProbe<T>, { hook, probe })));
  return probe;
}

const alert = (id: string, status: AlertData['status']): AlertData => ({
  id,
  rule: 'cpu_high',
  status,
  severity: 'critical',
  value: 97,
  threshold: 90,
  labels: { host: 'a' },
  annotations: {},
  starts_at: 1,
});

describe('react hooks', () => {
  test('a provider given options owns a client: connects on mount, closes on unmount', async () => {
    const probe = mount(() => useConnectionState(), { options: { url: server.url } });
    await until(() => probe.value === 'connected', 3000, 'connected');
    assert.equal(server.connections.size, 2);
    renderer!.unmount();
    renderer = undefined;
    await until(() => server.connections.size === 1, 3000, 'owned client closed');
  });

  test('useConnectionState follows the client', async () => {
    const probe = mount(() => useConnectionState());
    await until(() => probe.value === 'connected');
    server.refuse = 1_000;
    server.dropAll();
    await until(() => probe.value === 'reconnecting');
    server.refuse = 0;
    await until(() => probe.value === 'connected');
  });

  test('useChannel renders live events, bounded, and a burst causes one render', async () => {
    const probe = mount(() => useChannel('live.*', { limit: 10 }));
    await until(() => client.subscriptions[0]?.state === 'subscribed', 3000, 'subscribed');
    server.publish('live.a', 'm', 0);
    await until(() => probe.value?.length === 1);
    await sleep(20);
    const before = probe.renders;
    for (let i = 1; i <= 50; i++) server.publish('live.a', 'm', i);
    await until(() => probe.value?.length === 10 && probe.value.at(-1)?.data === 50, 3000, 'burst rendered');
    await sleep(30);
    assert.equal(probe.renders - before, 1, 'one render for 50 events');
    assert.deepEqual(
      probe.value!.map((e) => e.data),
      [41, 42, 43, 44, 45, 46, 47, 48, 49, 50],
    );
  });

  test('useMetric keeps a rolling window of points of the selected series', async () => {
    const probe = mount(() => useMetric('app.latency', { labels: { route: '/a' }, windowMs: 10_000 }));
    await until(() => client.subscriptions[0]?.state === 'subscribed');
    const now = Date.now();
    const sample = (ts: number, value: number, route: string) =>
      server.publish('metrics.app.latency', 'metric_update', { metric: 'app.latency', ts, value, labels: { route } });
    sample(now - 60_000, 1, '/a'); // outside the window
    sample(now - 2000, 2, '/a');
    sample(now - 1000, 3, '/b'); // another series
    sample(now, 4, '/a');
    await until(() => probe.value?.length === 2, 3000, 'points');
    assert.deepEqual(probe.value, [
      [now - 2000, 2],
      [now, 4],
    ]);
  });

  test('useAlerts is seeded by alerts.list and updated by events', async () => {
    server.methods.set('alerts.list', () => ({ alerts: [alert('a1', 'firing'), alert('a2', 'pending')] }));
    const probe = mount(() => useAlerts());
    await until(() => probe.value?.size === 2, 3000, 'seeded');
    server.publish('alerts', 'alert', alert('a2', 'resolved'));
    server.publish('alerts', 'alert', alert('a3', 'firing'));
    await until(() => probe.value?.size === 3, 3000, 'updated');
    assert.equal(probe.value!.get('a2')!.status, 'resolved');
    assert.equal(probe.value!.get('a1')!.status, 'firing');
  });

  test('useTasks starts empty when tasks.list is unknown, then follows the channel', async () => {
    const probe = mount(() => useTasks());
    await until(() => client.subscriptions[0]?.state === 'subscribed');
    await sleep(30);
    assert.equal(probe.value!.size, 0);
    const task: TaskData = {
      id: 't1',
      name: 'reindex',
      status: 'running',
      progress: 0.5,
      processed: 50,
      total: 100,
      errors: 0,
      eta_s: 10,
      started_at: 1,
      updated_at: 1,
      details: {},
    };
    server.publish('tasks', 'task_update', task);
    await until(() => probe.value?.size === 1);
    assert.equal(probe.value!.get('t1')!.progress, 0.5);
  });

  test('useIncidents is seeded by incidents.list (an array) and updated by incident_* events', async () => {
    const incident: IncidentData = {
      id: 'i1',
      title: 'CPU high on a',
      status: 'open',
      priority: 'P1',
      severity: 'critical',
      group_key: 'a',
      labels: { host: 'a' },
      alerts: ['a1'],
      firing: 1,
      assignee: null,
      comments: [],
      timeline: [{ at: 1, type: 'created', detail: 'opened by a1' }],
      created_at: 1,
      updated_at: 1,
      escalation_level: 0,
    };
    server.methods.set('incidents.list', () => [incident]);
    const probe = mount(() => useIncidents());
    await until(() => probe.value?.size === 1, 3000, 'seeded');
    server.publish('incidents', 'incident_assigned', { ...incident, assignee: 'ana', updated_at: 2 });
    await until(() => probe.value?.get('i1')?.assignee === 'ana');
  });

  test('useHosts takes the nodes snapshot, then host_status and nodes_summary; useHost picks one', async () => {
    const host = (id: string, status: HostData['status']): HostData => ({
      id,
      source: 'agent',
      status,
      labels: { role: 'web' },
      info: null,
      first_seen: 1,
      last_seen: 2,
      status_since: 1,
      node: 'n1',
      summary: null,
    });
    const summary = (hosts: HostData[]) => ({ ts: 1, counts: { up: hosts.length, stale: 0, down: 0 }, hosts });
    server.snapshots.set('nodes', summary([host('a', 'up'), host('b', 'up')]));
    const probe = mount(() => ({ all: useHosts(), b: useHost('b') }));
    // useHost holds its own subscription: each of the two takes the snapshot on its own.
    await until(() => probe.value?.all.size === 2 && probe.value?.b !== undefined, 3000, 'the snapshot');
    assert.equal(probe.value!.b?.status, 'up');
    server.publish('nodes', 'host_status', { host: host('b', 'stale'), previous: 'up' });
    await until(() => probe.value?.b?.status === 'stale', 3000, 'b stale');
    server.publish('nodes', 'host_status', { host: host('c', 'up'), previous: null });
    await until(() => probe.value?.all.size === 3, 3000, 'c added');
    // A summary gives the whole list: a host no longer listed goes.
    server.publish('nodes', 'nodes_summary', summary([host('a', 'up'), host('c', 'down')]));
    await until(() => probe.value?.all.size === 2 && probe.value?.b === undefined, 3000, 'the summary');
    assert.equal(probe.value!.all.get('c')?.status, 'down');
  });

  test('useResources and useTopology follow their snapshots and events', async () => {
    server.snapshots.set('resources', { ts: 1, hosts: [], top: { cpu: [], memory: [], disk: [] } });
    const probe = mount(() => ({ resources: useResources(), topology: useTopology() }));
    await until(() => probe.value?.resources?.ts === 1, 3000, 'the resources snapshot');
    assert.equal(probe.value!.topology, undefined, 'no topology snapshot yet');
    server.publish('resources', 'resources', { ts: 2, hosts: [], top: { cpu: ['a'], memory: [], disk: [] } });
    server.publish('topology', 'topology', {
      ts: 3,
      nodes: [{ id: 'n1', address: '127.0.0.1:1', connections: 4 }],
      agents: [{ host: 'a', node: 'n1', status: 'up', source: 'agent' }],
      clients: 4,
    });
    await until(() => probe.value?.resources?.ts === 2 && probe.value?.topology?.ts === 3, 3000, 'the events');
    assert.deepEqual(probe.value!.resources!.top.cpu, ['a']);
    assert.equal(probe.value!.topology!.agents[0]!.node, 'n1');
  });

  test('unmounting removes every subscription', async () => {
    const probe = mount(() => [useChannel('u.x'), useMetric('m1'), useAlerts(), useTasks(), useIncidents()]);
    await until(() => client.subscriptions.length === 5 && client.subscriptions.every((s) => s.state === 'subscribed'));
    const conn = [...server.connections][0]!;
    assert.equal(conn.subs.size, 5);
    assert.ok(probe.renders >= 1);
    renderer!.unmount();
    renderer = undefined;
    await until(() => client.subscriptions.length === 0 && conn.subs.size === 0, 3000, 'unsubscribed');
  });
});
