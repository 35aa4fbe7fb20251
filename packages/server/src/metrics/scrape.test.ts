/**
 * @module scrape.test
 * Scraping a real Prometheus node_exporter (Debian's prometheus-node-exporter, started here on a free port)
 * produces its series in the hub, with the target's labels and `instance`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { freePort } from '../testing/free-port.js';
import { startHub, until } from '../testing/hub-fixture.js';

const EXPORTER = '/usr/bin/prometheus-node-exporter';
const required = process.env.VIGIL_REQUIRE_SERVICES === '1';

const available = existsSync(EXPORTER);
if (!available && !required) {
  console.log(`# node_exporter not found at ${EXPORTER}; install it with: apt-get install -y prometheus-node-exporter`);
}

test('a scrape of a real node_exporter produces its series', { skip: !available && !required }, async () => {
  assert.ok(
    available,
    `${EXPORTER} is required (VIGIL_REQUIRE_SERVICES=1); apt-get install -y prometheus-node-exporter`,
  );
  const port = await freePort();
  const exporter = spawn(
    EXPORTER,
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      '--collector.cpu',
      '--collector.meminfo',
      '--collector.loadavg',
    ],
    {
      stdio: 'ignore',
    },
  );
  try {
    const target = `http://127.0.0.1:${port}/metrics`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await fetch(target).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      assert.ok(Date.now() < deadline, 'node_exporter did not answer within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const h = await startHub({
      metrics: { collect_interval: 0, scrape: [{ url: target, interval: '500ms', labels: { job: 'node' } }] },
    });
    await until(() => h.hub.metricsService.registry.ofMetric('node_load1').length > 0, 10_000, 'scraped series');
    const load = h.hub.metricsService.current({ prefix: 'node_load1' });
    assert.equal(load[0]!.labels.job, 'node');
    assert.equal(load[0]!.labels.instance, `127.0.0.1:${port}`);
    assert.ok(h.hub.metricsService.registry.ofMetric('node_cpu_seconds_total').length > 0, 'per-cpu counters');
    assert.ok(h.hub.metricsService.registry.ofMetric('node_memory_MemTotal_bytes').length === 1);
    const up = h.hub.metricsService.current({ prefix: 'scrape.up' });
    assert.equal(up[0]!.value, 1);
    const status = (await (await fetch(`${h.url}/api/v1/scrape`)).json()) as {
      targets: { up: boolean; samples: number }[];
    };
    assert.equal(status.targets[0]!.up, true);
    assert.ok(status.targets[0]!.samples > 10);
    await h.stop();
  } finally {
    exporter.kill();
  }
});
