/**
 * @module alertmanager.test
 * Integration with a real Prometheus Alertmanager (Debian's prometheus-alertmanager, started here on free ports):
 * Alertmanager posts its webhook to Vigil's /api/v1/alerts, and the alerts, and the incidents they open, appear in
 * Vigil; a resolved notification resolves them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../testing/free-port.js';
import { startHub, TestClient, until } from '../testing/hub-fixture.js';

const BINARY = '/usr/bin/prometheus-alertmanager';
const required = process.env.VIGIL_REQUIRE_SERVICES === '1';
const available = existsSync(BINARY);
if (!available && !required) {
  console.log(`# Alertmanager not found at ${BINARY}; install it with: apt-get install -y prometheus-alertmanager`);
}

test('a real Alertmanager webhook creates alerts and incidents in Vigil', {
  skip: !available && !required,
}, async () => {
  assert.ok(available, `${BINARY} is required (VIGIL_REQUIRE_SERVICES=1); apt-get install -y prometheus-alertmanager`);
  const h = await startHub({ metrics: { collect_interval: 0 }, incidents: { group_by: ['alertname'] } });
  const watcher = await TestClient.connect(h.wsUrl);
  await watcher.request({ op: 'subscribe', channels: ['alerts', 'incidents'] });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: vigil',
      "  group_by: ['alertname']",
      '  group_wait: 200ms',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: vigil',
      '    webhook_configs:',
      `      - url: ${h.url}/api/v1/alerts`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const am = spawn(
    BINARY,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: 'ignore' },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 15_000;
    while (
      !(await fetch(`${base}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < deadline, 'Alertmanager did not become ready within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const startsAt = new Date(Date.now() - 1000).toISOString();
    const alert = {
      labels: { alertname: 'DatabaseDown', severity: 'critical', instance: 'db-1' },
      annotations: { summary: 'db-1 is not answering' },
      startsAt,
    };
    const posted = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
    });
    assert.equal(posted.status, 200);

    await until(() => h.hub.alerts.activeAlerts().some((a) => a.rule === 'DatabaseDown'), 15_000, 'the webhook');
    const got = h.hub.alerts.activeAlerts().find((a) => a.rule === 'DatabaseDown')!;
    assert.deepEqual(
      [got.source, got.severity, got.labels.instance, got.annotations.summary],
      ['external', 'critical', 'db-1', 'db-1 is not answering'],
    );
    await watcher.next(
      (f) => f.type === 'event' && f.channel === 'alerts' && (f.data as { rule: string }).rule === 'DatabaseDown',
    );
    const incident = await watcher.next((f) => f.type === 'event' && f.kind === 'incident_created', 5000);
    assert.equal((incident.data as { priority: string }).priority, 'P1');

    const resolved = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ ...alert, endsAt: new Date().toISOString() }]),
    });
    assert.equal(resolved.status, 200);
    await until(
      () => !h.hub.alerts.activeAlerts().some((a) => a.rule === 'DatabaseDown'),
      15_000,
      'the resolved webhook',
    );
    await watcher.next((f) => f.type === 'event' && f.kind === 'incident_resolved', 5000);
  } finally {
    am.kill();
    watcher.close();
    await h.stop();
  }
});
