/**
 * @module load.test
 * Configuration: defaults, the file, environment and flag precedence, durations, and errors that name the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';

const dir = () => mkdtempSync(join(tmpdir(), 'vigil-config-'));

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.key;
  }
  assert.fail('expected a ConfigError');
}

test('defaults', () => {
  const c = loadConfig({ env: {}, cwd: dir() });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4280);
  assert.ok(c.dataDir.endsWith('/data'));
  assert.equal(c.shutdownTimeoutMs, 5000);
  assert.deepEqual(c.gateway, {
    path: '/ws',
    maxPayload: 1_048_576,
    maxSubscriptions: 1000,
    maxQueueBytes: 1_048_576,
    slowConsumerTimeoutMs: 10_000,
    pingIntervalMs: 25_000,
    pongTimeoutMs: 10_000,
    compression: false,
    allowedOrigins: [],
    rateLimit: { messagesPerS: 5000, burst: 10_000, maxViolations: 50 },
  });
  assert.deepEqual(c.history, {
    maxEvents: 1000,
    maxAgeMs: 600_000,
    maxBytes: 16 * 1_048_576,
    maxTotalBytes: 256 * 1_048_576,
    maxChannels: 100_000,
    channels: [],
  });
  assert.equal(c.http.publishBodyLimit, c.gateway.maxPayload, 'HTTP publish defaults to the WebSocket payload limit');
  assert.equal(c.source, undefined);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.gateway), 'the result is frozen');
});

test('file, then environment, then flags', () => {
  const cwd = dir();
  writeFileSync(
    join(cwd, 'vigil.config.yaml'),
    'port: 5000\nhost: 127.0.0.2\ngateway:\n  ping_interval: 5s\nhistory:\n  max_age: 1h\n  channels:\n    - pattern: "metrics.>"\n      max_events: 60\n',
  );
  const fromFile = loadConfig({ env: {}, cwd });
  assert.equal(fromFile.port, 5000);
  assert.equal(fromFile.host, '127.0.0.2');
  assert.equal(fromFile.gateway.pingIntervalMs, 5000);
  assert.equal(fromFile.history.maxAgeMs, 3_600_000);
  assert.deepEqual(fromFile.history.channels, [{ pattern: 'metrics.>', max_events: 60 }]);
  assert.equal(fromFile.source, join(cwd, 'vigil.config.yaml'));
  const fromEnv = loadConfig({ env: { VIGIL_PORT: '6000', VIGIL_DATA_DIR: '/tmp/x' }, cwd });
  assert.deepEqual([fromEnv.port, fromEnv.dataDir], [6000, '/tmp/x']);
  const fromFlags = loadConfig({ env: { VIGIL_PORT: '6000' }, cwd, flags: { port: '7000', host: '127.0.0.3' } });
  assert.deepEqual([fromFlags.port, fromFlags.host], [7000, '127.0.0.3']);
});

test('a JSON file named by --config or VIGIL_CONFIG', () => {
  const cwd = dir();
  writeFileSync(join(cwd, 'custom.json'), JSON.stringify({ port: 4999, gateway: { max_queue_bytes: 65536 } }));
  assert.equal(loadConfig({ env: {}, cwd, flags: { config: 'custom.json' } }).port, 4999);
  assert.equal(loadConfig({ env: { VIGIL_CONFIG: join(cwd, 'custom.json') }, cwd }).gateway.maxQueueBytes, 65536);
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, flags: { config: 'missing.yaml' } })),
    'config',
  );
});

test('bad values name their key', () => {
  const cwd = dir();
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_PORT: 'abc' }, cwd })),
    'port',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, flags: { port: '70000' } })),
    'port',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, overrides: { gateway: { max_payload: 'big' } } })),
    'gateway.max_payload',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, overrides: { gateway: { ping_interval: '5 seconds' } } })),
    'gateway.ping_interval',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, overrides: { colour: 'blue' } })),
    'colour',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_LOG_LEVEL: 'loud' }, cwd })),
    'log_level',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, overrides: { history: { channels: [{ pattern: 'a..b' }] } } })),
    'history.channels.0.pattern',
  );
  writeFileSync(join(cwd, 'vigil.config.yaml'), 'port: [1, 2\n');
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd })),
    'config',
  );
  writeFileSync(join(cwd, 'vigil.config.yaml'), '- just\n- a list\n');
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd })),
    'config',
  );
});

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('a value outside a union lists what the key accepts', () => {
  const cwd = dir();
  assert.equal(
    messageOf(() => loadConfig({ env: { VIGIL_LOG_LEVEL: 'loud' }, cwd })),
    'log_level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got "loud")',
  );
  assert.equal(
    messageOf(() => loadConfig({ env: {}, cwd, overrides: { broker: { engine: 'kafka' } } })),
    'broker.engine: must be one of "memory", "redis" (got "kafka")',
  );
  assert.equal(
    messageOf(() => loadConfig({ env: {}, cwd, overrides: { metrics: { synchronous: 'off' } } })),
    'metrics.synchronous: must be one of "full", "normal" (got "off")',
  );
  assert.equal(
    messageOf(() => loadConfig({ env: {}, cwd, overrides: { gateway: { ping_interval: '5 seconds' } } })),
    'gateway.ping_interval: must be an integer ≥ 0 or a duration such as "10s", "5m" or "1h" (got "5 seconds")',
  );
  assert.equal(
    messageOf(() =>
      loadConfig({ env: {}, cwd, overrides: { history: { channels: [{ pattern: 'a', max_age: -5 }] } } }),
    ),
    'history.channels.0.max_age: must be an integer ≥ 0 or a duration such as "10s", "5m" or "1h" (got -5)',
  );
  const rule = { name: 'r', metric: 'm', kind: 'threshold', threshold: 1, severity: 'urgent' };
  assert.match(
    messageOf(() => loadConfig({ env: {}, cwd, overrides: { alerts: { rules: [rule] } } })),
    /^alerts\.rules\.0\.severity: Invalid rule: severity must be one of "info", "warning", "error", "critical"/,
  );
  assert.match(
    messageOf(() => loadConfig({ env: {}, cwd, overrides: { auth: { api_keys: [{ key: 5, scopes: ['read'] }] } } })),
    /^auth\.api_keys\.0\.key: /,
  );
});

test('a non-loopback address needs --insecure while auth is not configured', () => {
  const cwd = dir();
  assert.equal(
    keyOf(() => loadConfig({ env: {}, cwd, flags: { host: '0.0.0.0' } })),
    'host',
  );
  assert.equal(loadConfig({ env: {}, cwd, flags: { host: '0.0.0.0', insecure: true } }).host, '0.0.0.0');
  assert.equal(loadConfig({ env: { VIGIL_INSECURE: '1', VIGIL_HOST: '0.0.0.0' }, cwd }).insecure, true);
  assert.equal(loadConfig({ env: {}, cwd, flags: { host: '::1' } }).host, '::1');
});

test('per-pattern history rules inherit what they do not set', () => {
  const c = loadConfig({
    env: {},
    cwd: dir(),
    overrides: {
      history: {
        max_age: '2m',
        channels: [
          { pattern: 'a.>', max_events: 5 },
          { pattern: 'b', max_age: 1000 },
        ],
      },
    },
  });
  assert.deepEqual(c.history.channels, [
    { pattern: 'a.>', max_events: 5 },
    { pattern: 'b', max_age_ms: 1000 },
  ]);
  assert.equal(c.history.maxAgeMs, 120_000);
});

test('every scalar option has a VIGIL_* variable, typed like the file', () => {
  const cwd = dir();
  const c = loadConfig({
    env: {
      VIGIL_HISTORY_MAX_TOTAL_BYTES: '33554432',
      VIGIL_GATEWAY_RATE_LIMIT_MESSAGES_PER_S: '250.5',
      VIGIL_GATEWAY_COMPRESSION: 'on',
      VIGIL_GATEWAY_PING_INTERVAL: '5s',
      VIGIL_METRICS_RETENTION_1M: '7d',
      VIGIL_HTTP_PUBLISH_BODY_LIMIT: '65536',
    },
    cwd,
  });
  assert.equal(c.history.maxTotalBytes, 33_554_432);
  assert.equal(c.gateway.rateLimit.messagesPerS, 250.5);
  assert.equal(c.gateway.compression, true);
  assert.equal(c.gateway.pingIntervalMs, 5000);
  assert.equal(c.metrics.retention.oneMinuteMs, 7 * 86_400_000);
  assert.equal(c.http.publishBodyLimit, 65_536);
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_HISTORY_MAX_CHANNELS: 'many' }, cwd })),
    'history.max_channels',
  );
});

test('broker: memory by default; redis from the file, VIGIL_BROKER* or flags; a bad engine or URL names the key', () => {
  const d = dir();
  assert.deepEqual(loadConfig({ env: {}, cwd: d }).broker, {
    engine: 'memory',
    url: 'redis://127.0.0.1:6379',
    prefix: 'vigil:',
  });
  const env = { VIGIL_BROKER: 'redis', VIGIL_BROKER_URL: 'redis://10.0.0.5:6380/2', VIGIL_BROKER_PREFIX: 'prod:' };
  assert.deepEqual(loadConfig({ env, cwd: d }).broker, {
    engine: 'redis',
    url: 'redis://10.0.0.5:6380/2',
    prefix: 'prod:',
  });
  const flags = loadConfig({ env: {}, cwd: d, flags: { broker: 'redis', broker_url: 'rediss://cache:6379' } }).broker;
  assert.deepEqual([flags.engine, flags.url], ['redis', 'rediss://cache:6379']);
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_BROKER: 'kafka' }, cwd: d })),
    'broker.engine',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_BROKER_URL: 'http://x' }, cwd: d })),
    'broker.url',
  );
});

test('store: sqlite by default; postgres from the file, VIGIL_STORE* or flags; bad values name the key', () => {
  const d = dir();
  assert.deepEqual(loadConfig({ env: {}, cwd: d }).store, {
    engine: 'sqlite',
    url: 'postgres://127.0.0.1:5432/vigil',
    schema: 'public',
    poolSize: 10,
    maxFailures: 10_000,
  });
  const env = {
    VIGIL_STORE: 'postgres',
    VIGIL_STORE_URL: 'postgresql://vigil:pw@db:5433/ops',
    VIGIL_STORE_SCHEMA: 'vigil_prod',
    VIGIL_STORE_POOL_SIZE: '4',
  };
  assert.deepEqual(loadConfig({ env, cwd: d }).store, {
    engine: 'postgres',
    url: 'postgresql://vigil:pw@db:5433/ops',
    schema: 'vigil_prod',
    poolSize: 4,
    maxFailures: 10_000,
  });
  const flags = loadConfig({ env: {}, cwd: d, flags: { store: 'postgres', store_url: 'postgres://db/x' } }).store;
  assert.deepEqual([flags.engine, flags.url], ['postgres', 'postgres://db/x']);
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_STORE: 'mysql' }, cwd: d })),
    'store.engine',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_STORE_URL: 'mysql://x' }, cwd: d })),
    'store.url',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_STORE_SCHEMA: 'Bad-Name' }, cwd: d })),
    'store.schema',
  );
  assert.equal(
    keyOf(() => loadConfig({ env: { VIGIL_STORE_POOL_SIZE: '0' }, cwd: d })),
    'store.pool_size',
  );
});
