/**
 * @module incidents-restart.test
 * Incidents survive a restart on the same state database: comments, timeline and acknowledgements come back, an
 * escalation clock resumes from the persisted times, and alerts that resolve after (or during) the restart still
 * auto-resolve their incident. Alerts come from a scripted AlertBus (notify/test-support.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../alerts/types.js';
import { FakeScheduler, ScriptedAlertBus } from '../notify/test-support.js';
import { createIncidentsPart } from './index.js';
import { incidentsConfig, testHost } from './test-support.js';

const M = 60_000;

test('incidents round-trip through a restart and pick up where they left off', async () => {
  const config = incidentsConfig({ checkIntervalMs: M, escalation: { afterMs: 10 * M, repeat: true, targets: [] } });
  const fake = new FakeScheduler();

  // First life: three incidents in different states.
  const host1 = testHost(config);
  const bus1 = new ScriptedAlertBus(() => fake.now());
  const first = createIncidentsPart(host1, bus1, { scheduler: fake });
  await first.part.start?.();
  const cpu = bus1.fire({ rule: 'HighCPU', severity: 'error' });
  const disk = bus1.fire({ rule: 'DiskFull' });
  const mem = bus1.fire({ rule: 'Memory' });
  const s1 = first.service;
  const [memInc, diskInc, cpuInc] = await s1.list();
  await s1.acknowledge(diskInc!.id, 'bob', 'on it');
  await s1.assign(diskInc!.id, 'bob');
  fake.advance(15 * M);
  assert.equal((await s1.getOrThrow(cpuInc!.id)).escalation_level, 1);
  assert.equal((await s1.getOrThrow(memInc!.id)).escalation_level, 1);
  bus1.resolve(disk.id);
  assert.equal((await s1.getOrThrow(diskInc!.id)).status, 'resolved');
  const before = await s1.list();
  await first.part.stop?.();
  host1.close(true);

  // Second life, 3 minutes later: `mem` resolved while the hub was down; `cpu` still fires.
  fake.advance(3 * M);
  const host2 = testHost(config, host1.dir);
  const bus2 = new ScriptedAlertBus(() => fake.now());
  bus2.restore({ ...(cpu as Alert) });
  bus2.restore({ ...(mem as Alert), status: 'resolved', ends_at: fake.now() - M });
  const second = createIncidentsPart(host2, bus2, { scheduler: fake });
  const s2 = second.service;
  assert.deepEqual(await s2.list(), before, 'everything persisted, comments and timeline included');
  await second.part.start?.();
  try {
    const memAfter = await s2.getOrThrow(memInc!.id);
    assert.equal(memAfter.status, 'resolved', 'a member that resolved during the downtime resolves its incident');
    assert.deepEqual(host2.kinds(), ['incident_resolved']);

    // cpu escalated at t=10m; the next escalation is due at t=20m, i.e. 2 minutes after the restart at t=18m.
    fake.advance(M);
    assert.equal((await s2.getOrThrow(cpuInc!.id)).escalation_level, 1);
    fake.advance(M);
    const cpuAfter = await s2.getOrThrow(cpuInc!.id);
    assert.deepEqual([cpuAfter.escalation_level, cpuAfter.priority], [2, 'P0']);

    // A new alert of the cpu group joins the restored incident; resolving both resolves it.
    const cpu2 = bus2.fire({ rule: 'HighCPU', labels: { core: '3' } });
    assert.deepEqual((await s2.getOrThrow(cpuInc!.id)).alerts, [cpu.id, cpu2.id]);
    bus2.emit({ ...(cpu as Alert), status: 'resolved', ends_at: fake.now() }, 'transition', 'firing');
    bus2.resolve(cpu2.id);
    assert.equal((await s2.getOrThrow(cpuInc!.id)).status, 'resolved');
    assert.equal((await s2.list({ status: 'open' })).length, 0);
    const disk2 = await s2.getOrThrow(diskInc!.id);
    assert.deepEqual([disk2.assignee, disk2.acknowledged_by, disk2.comments[0]!.text], ['bob', 'bob', 'on it']);
  } finally {
    await second.part.stop?.();
    host2.close();
  }
});
