/**
 * @module dashboard-routes.test
 * The dashboard part on a real hub with a small build in a temporary folder: cache headers, the
 * Content-Security-Policy, the client-side routes answered with `index.html`, API paths never answered with it,
 * precompressed assets, a hub without a build, and the parts' scopes (the metrics part's body parsers and gzip hook
 * stay in the metrics routes).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type RunningHub, startHub } from '../testing/hub-fixture.js';
import { DASHBOARD_CSP } from './routes.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script></head></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

describe('dashboard part', () => {
  let h: RunningHub;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-dash-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'assets', 'app-1a2b3c.js'), SCRIPT);
    writeFileSync(join(dir, 'assets', 'app-1a2b3c.js.gz'), gzipSync(SCRIPT));
    h = await startHub({ dashboard: { dir }, metrics: { collect_interval: 0 } });
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) => h.hub.app.inject({ url, headers });

  test('/ is the app: not cached, with a CSP that allows only the hub’s own scripts', async () => {
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, INDEX);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP);
    assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  test('hashed assets are cached for a year, and sent gzipped to clients that take it', async () => {
    const plain = await get('/assets/app-1a2b3c.js');
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.body, SCRIPT);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-security-policy'], DASHBOARD_CSP);
    const zipped = await get('/assets/app-1a2b3c.js', { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.rawPayload.length < SCRIPT.length);
    const other = await get('/favicon.svg');
    assert.equal(other.statusCode, 200);
    assert.equal(other.headers['cache-control'], 'no-cache');
  });

  test('client-side routes get index.html; API paths, files and the socket path never do', async () => {
    for (const url of ['/alerts', '/alerts?tab=silenced', '/incidents/inc_1', '/explore?metric=a.b&from=1']) {
      const res = await get(url);
      assert.deepEqual([res.statusCode, res.body], [200, INDEX], url);
    }
    for (const url of ['/api/v1/nope', '/api/nope', '/metrics/x', '/health/x', '/ws', '/assets/missing.js', '/x.png']) {
      const res = await get(url);
      assert.equal(res.statusCode, 404, url);
      assert.equal((res.json() as { error: { code: string } }).error.code, 'not_found', url);
    }
    assert.match((await get('/metrics')).body, /vigil_/);
    assert.deepEqual((await get('/health')).json(), { status: 'ok' });
  });

  test("the metrics part's body parsers and gzip hook stay in its own scope", async () => {
    const influx = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/write/influx',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      payload: gzipSync('scoped value=1'),
    });
    assert.equal(influx.statusCode, 200);
    assert.equal((influx.json() as { accepted: number }).accepted, 1);
    const rules = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/rules',
      headers: { 'content-type': 'application/octet-stream' },
      payload: 'x',
    });
    assert.equal(rules.statusCode, 415);
    const publish = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/publish',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify({ channel: 'a', data: 1 })),
    });
    assert.notEqual(publish.statusCode, 200, 'gzip is only understood by the ingest routes');
  });
});

describe('dashboard part without a build', () => {
  test('/ says how to build it and links to the API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-nodash-'));
    const h = await startHub({ dashboard: { dir }, metrics: { collect_interval: 0 } });
    try {
      const res = await h.hub.app.inject({ url: '/' });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /not built/);
      assert.match(res.body, /href="\/api"/);
      assert.equal((await h.hub.app.inject({ url: '/alerts' })).statusCode, 200);
    } finally {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('dashboard.enabled false leaves / to the API 404', async () => {
    const h = await startHub({ dashboard: { enabled: false }, metrics: { collect_interval: 0 } });
    try {
      assert.equal((await h.hub.app.inject({ url: '/' })).statusCode, 404);
    } finally {
      await h.stop();
    }
  });
});
