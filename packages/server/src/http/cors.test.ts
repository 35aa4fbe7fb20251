/**
 * @module cors.test
 * Cross-origin access over real HTTP (node:http, so that `Origin` is sent as given): off by default (no CORS headers,
 * preflights refused with 403 naming the option); with `http.cors.allowed_origins` a listed origin gets its preflight
 * answered (before auth) and `Access-Control-Allow-Origin` on answers, errors and the SSE stream; other origins get
 * nothing; `*` allows any; a bad origin in the configuration names its key.
 */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config/load.js';
import { type RunningHub, startHub } from '../testing/hub-fixture.js';

const OPS = 'https://ops.example.com';
const KEY = 'cors-test-read-key-0123456789';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request; for an SSE stream, resolves with the head and the first chunk, then closes the socket. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      const stream = String(res.headers['content-type']).startsWith('text/event-stream');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (stream) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end(body);
  });
}

function preflight(base: string, path: string, origin: string, method = 'POST') {
  return send(`${base}${path}`, 'OPTIONS', {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'authorization, content-type',
  });
}

describe('CORS off (the default)', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0 } });
  });
  after(() => h.stop());

  test('no CORS headers on answers; a preflight is refused naming the option', async () => {
    const get = await send(`${h.url}/api/v1/stats`, 'GET', { origin: OPS });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
    const pre = await preflight(h.url, '/api/v1/publish', OPS);
    assert.equal(pre.status, 403);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const body = JSON.parse(pre.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'forbidden');
    assert.match(body.error.message, /cross-origin requests are off; list the origin in http\.cors\.allowed_origins/);
  });
});

describe('CORS with allowed origins, auth on', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({
      metrics: { collect_interval: 0 },
      http: { cors: { allowed_origins: [`${OPS}/`, 'http://localhost:5173'], max_age: '1h' } },
      auth: { api_keys: [{ key: KEY, name: 'reader', scopes: ['read', 'publish'] }] },
    });
  });
  after(() => h.stop());

  test('a preflight from a listed origin is answered 204 without credentials', async () => {
    const pre = await preflight(h.url, '/api/v1/publish', OPS);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], OPS);
    assert.equal(pre.headers.vary, 'Origin');
    assert.match(String(pre.headers['access-control-allow-methods']), /\bPOST\b/);
    assert.match(String(pre.headers['access-control-allow-headers']), /\bauthorization\b/);
    assert.match(String(pre.headers['access-control-allow-headers']), /\bcontent-type\b/);
    assert.match(String(pre.headers['access-control-allow-headers']), /\blast-event-id\b/);
    assert.equal(pre.headers['access-control-max-age'], '3600');
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
    const dev = await preflight(h.url, '/api/v1/stream', 'http://localhost:5173', 'GET');
    assert.equal(dev.status, 204);
    assert.equal(dev.headers['access-control-allow-origin'], 'http://localhost:5173');
  });

  test('answers, errors and the SSE stream carry Access-Control-Allow-Origin for a listed origin', async () => {
    const auth = { origin: OPS, authorization: `Bearer ${KEY}` };
    const ok = await send(
      `${h.url}/api/v1/publish`,
      'POST',
      { ...auth, 'content-type': 'application/json' },
      '{"channel":"cors.a","data":1}',
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], OPS);
    assert.match(String(ok.headers['access-control-expose-headers']), /retry-after/);
    const denied = await send(`${h.url}/api/v1/stats`, 'GET', { origin: OPS });
    assert.equal(denied.status, 401, 'the actual request still needs credentials');
    assert.equal(denied.headers['access-control-allow-origin'], OPS, 'so that the page can read the 401');
    const missing = await send(`${h.url}/api/v1/nothing-here`, 'GET', auth);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['access-control-allow-origin'], OPS);
    const sse = await send(`${h.url}/api/v1/stream?channels=cors.>`, 'GET', auth);
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
    assert.equal(sse.headers['access-control-allow-origin'], OPS);
    assert.match(sse.body, /retry: 2000/);
  });

  test('another origin: no CORS headers, and its preflight is refused', async () => {
    const evil = 'https://evil.example.net';
    const get = await send(`${h.url}/api/v1/stats`, 'GET', { origin: evil, authorization: `Bearer ${KEY}` });
    assert.equal(get.status, 200, 'the hub answers; the browser withholds it from the page');
    assert.equal(get.headers['access-control-allow-origin'], undefined);
    const pre = await preflight(h.url, '/api/v1/publish', evil);
    assert.equal(pre.status, 403);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.match(pre.body, /not listed in http\.cors\.allowed_origins/);
    const sub = await preflight(h.url, '/api/v1/publish', 'https://ops.example.com.evil.example.net');
    assert.equal(sub.status, 403, 'origins match exactly, not by prefix');
  });

  test('requests without Origin are untouched', async () => {
    const res = await send(`${h.url}/api/v1/stats`, 'GET', { authorization: `Bearer ${KEY}` });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
});

describe('CORS with *', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0 }, http: { cors: { allowed_origins: ['*'] } } });
  });
  after(() => h.stop());

  test('any origin is allowed and echoed; preflights are cached for the default 10 minutes', async () => {
    for (const origin of ['https://a.example', 'http://127.0.0.1:8080']) {
      const pre = await preflight(h.url, '/api/v1/publish', origin);
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.equal(pre.headers['access-control-max-age'], '600');
      const get = await send(`${h.url}/api/v1/stats`, 'GET', { origin });
      assert.equal(get.headers['access-control-allow-origin'], origin);
    }
  });
});

test('a bad origin in the configuration names its key', () => {
  for (const bad of ['ops.example.com', 'https://ops.example.com/path', 'ftp://x']) {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { http: { cors: { allowed_origins: [bad] } } } }),
      (err: unknown) => err instanceof ConfigError && err.key === 'http.cors.allowed_origins.0',
      bad,
    );
  }
});
