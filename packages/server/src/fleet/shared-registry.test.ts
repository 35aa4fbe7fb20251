/**
 * @module fleet/shared-registry.test
 * Fleet services of two nodes sharing one host store (as the nodes of a cluster share PostgreSQL), on a manual
 * clock: a host that reports to node A is not declared down by node B, which reads the newer `last_seen` from the
 * store before it judges; a host silent everywhere goes down on B with one `host_down`; a host registered on A
 * appears on B.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { HostData } from '@vigil/protocol';
import type { Alert, AlertBus, ExternalAlertInput } from '../alerts/types.js';
import type { StoredEvent } from '../broker/broker.js';
import type { MetricsService } from '../metrics/service.js';
import { SqliteStateStore } from '../storage/sqlite-state-store.js';
import { until } from '../testing/hub-fixture.js';
import { toFleetConfig } from './config.js';
import { type HostRecord, StateHostStore } from './host-store.js';
import { FleetService } from './service.js';

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

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'vigil-fleet-shared-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function host(id: string, node: string, lastSeen: number): HostRecord {
  const data: HostData = {
    id,
    source: 'agent',
    status: 'up',
    labels: {},
    info: null,
    first_seen: T0,
    last_seen: lastSeen,
    status_since: T0,
    node,
    summary: null,
  };
  return { host: data, lastBatchTs: 0 };
}

test('a shared registry: no false host_down for a host reporting to another node; one when it is silent everywhere', async () => {
  const state = new SqliteStateStore({ path: join(dir, 'state.db') });
  await state.open();
  let now = T0;
  const config = toFleetConfig({
    max_hosts: 100,
    stale_after: '10s',
    down_after: '30s',
    check_interval: '1h',
    summary_interval: '10s',
    top: 5,
    self: false,
    self_id: '',
    alert_on_down: true,
    max_batch_samples: 1000,
  });
  const alerts = new RecordingAlerts();
  const metrics = { registry: { all: () => [] } } as unknown as MetricsService;
  const b = new FleetService({
    config,
    nodeId: 'node-b',
    store: new StateHostStore(state),
    metrics,
    alerts,
    emit: async () => ({}) as StoredEvent,
    clusterNodes: async () => [],
    now: () => now,
    version: 'test',
    shared: true,
  });
  await state.saveHost(host('web-1', 'node-a', T0));
  await b.start();
  try {
    // Node A keeps hearing from web-1 and writes it to the shared store; B hears nothing itself.
    for (let t = 10_000; t <= 60_000; t += 10_000) {
      now = T0 + t;
      await state.saveHost(host('web-1', 'node-a', now - 2_000));
      b.check();
      await until(() => b.get('web-1').last_seen === now - 2_000, 30_000, 'B to read the newer last_seen');
      b.check();
      assert.equal(b.get('web-1').status, 'up', `at +${t / 1000}s`);
    }
    // Registered on A later: B learns of it at its next read.
    await state.saveHost(host('db-1', 'node-a', now));
    now += 10_000;
    await state.saveHost(host('web-1', 'node-a', now));
    b.check();
    await until(() => b.list().some((h) => h.id === 'db-1'), 30_000, 'db-1 on B');
    // Then web-1 goes silent everywhere: stale, then down with one host_down.
    const last = now;
    now = last + 40_000;
    b.check();
    await until(() => b.get('web-1').status === 'down', 30_000, 'web-1 down on B');
    now += 20_000;
    b.check();
    await until(
      () => alerts.raised.filter((a) => a.labels?.host === 'web-1' && a.status === 'firing').length >= 1,
      30_000,
      'host_down',
    );
    b.check();
    assert.equal(alerts.raised.filter((a) => a.labels?.host === 'web-1' && a.status === 'firing').length, 1);
  } finally {
    await b.stop();
    await state.close();
  }
});
