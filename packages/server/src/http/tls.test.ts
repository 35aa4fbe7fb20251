/**
 * @module tls.test
 * The hub serving HTTPS and WSS itself, with self-signed certificates made by the openssl CLI at test time: a hub with
 * `tls` and `auth` binds a non-loopback address without `insecure`; HTTPS requests, a WSS client (the `ws` library,
 * trusting only that certificate) and the SSE stream work, plain HTTP and clients that do not trust the certificate
 * do not; `reloadTls` serves a renewed certificate to new connections while open ones stay, and a bad renewal is
 * refused with the old certificate kept; bad files name their key; `vigil serve` prints https/wss URLs and exits 2
 * on a bad pair.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError, loadConfig } from '../config/load.js';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';
import { runVigil } from '../testing/serve-process.js';

const KEY = 'tls-test-admin-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for localhost and 127.0.0.1; returns the paths and the PEM certificate. */
function selfSigned(name: string, cn = 'localhost'): { cert: string; key: string; pem: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: execFileSync('cat', [cert]).toString() };
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The fingerprint of the certificate a new TLS connection to `port` is served. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

function get(url: string, ca: string | undefined, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      const sse = String(res.headers['content-type']).startsWith('text/event-stream');
      res.on('data', (c: string) => {
        body += c;
        if (sse) {
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

function publish(base: string, ca: string, channel: string, data: unknown) {
  return new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      `${base}/api/v1/publish`,
      {
        method: 'POST',
        ca,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ channel, data }));
  });
}

describe('a hub with tls and auth on a non-loopback address', () => {
  let h: RunningHub;
  let first: ReturnType<typeof selfSigned>;
  let base: string;
  let port: number;
  before(async () => {
    first = selfSigned('first');
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    h = await startHub({
      host: '0.0.0.0',
      tls: live,
      auth: { api_keys: [{ key: KEY, name: 'admin', scopes: ['admin'] }] },
      metrics: { collect_interval: 0 },
    });
    assert.match(h.url, /^https:\/\/0\.0\.0\.0:\d+$/, 'listen() reports https');
    port = Number(new URL(h.url).port);
    base = `https://127.0.0.1:${port}`;
  });
  after(() => h.stop());

  test('HTTPS answers clients that trust the certificate; plain HTTP and untrusting clients get nothing', async () => {
    const health = await get(`${base}/health`, first.pem);
    assert.equal(health.status, 200);
    const stats = await get(`${base}/api/v1/stats`, first.pem, { authorization: `Bearer ${KEY}` });
    assert.equal(stats.status, 200);
    assert.equal((JSON.parse(stats.body) as { node: string }).node, 'test-node');
    await assert.rejects(get(`${base}/health`, undefined), /self-signed certificate/);
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest(`http://127.0.0.1:${port}/health`, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
      req.end();
    });
    assert.notEqual(plain, 'status 200', `plain HTTP is not served (${plain})`);
  });

  test('a WSS client subscribes and receives an event published over HTTPS; SSE streams over HTTPS', async () => {
    const wsUrl = `wss://127.0.0.1:${port}/ws`;
    const c = await TestClient.connect(`${wsUrl}?token=${KEY}`, undefined, { ca: first.pem });
    c.send({ op: 'subscribe', id: 1, channels: ['secure.>'] });
    await c.next((f) => f.type === 'reply' && f.id === 1);
    assert.equal(await publish(base, first.pem, 'secure.orders', { n: 1 }), 200);
    const event = await c.next((f) => f.type === 'event' && f.channel === 'secure.orders');
    assert.deepEqual(event.data, { n: 1 });
    c.close();
    await assert.rejects(TestClient.connect(`${wsUrl}?token=${KEY}`), /self-signed certificate/);
    const sse = await get(`${base}/api/v1/stream?channels=secure.>&token=${KEY}`, first.pem);
    assert.equal(sse.status, 200);
    assert.match(sse.type, /^text\/event-stream/);
  });

  test('reloadTls: new connections get the renewed certificate, open ones stay; a bad pair is refused', async () => {
    const open = await TestClient.connect(`wss://127.0.0.1:${port}/ws?token=${KEY}`, undefined, { ca: first.pem });
    assert.equal(await servedFingerprint(port, first.pem), fingerprint(first.pem));
    const renewed = selfSigned('renewed', 'localhost-renewed');
    assert.notEqual(fingerprint(renewed.pem), fingerprint(first.pem));
    copyFileSync(renewed.cert, join(dir, 'live.crt'));
    copyFileSync(renewed.key, join(dir, 'live.key'));
    h.hub.reloadTls();
    assert.equal(await servedFingerprint(port, renewed.pem), fingerprint(renewed.pem));
    assert.equal((await get(`${base}/health`, renewed.pem)).status, 200);
    open.send({ op: 'ping', id: 7 });
    await open.next((f) => f.type === 'pong', 30_000); // the connection opened before the reload still works

    const other = selfSigned('other');
    copyFileSync(other.key, join(dir, 'live.key'));
    assert.throws(
      () => h.hub.reloadTls(),
      (err: unknown) =>
        err instanceof ConfigError && err.key === 'tls.key' && /is not the key of the certificate/.test(err.message),
    );
    // A configuration reload (SIGHUP, POST /api/v1/reload) reads the pair too, and refuses a bad one the same way.
    await assert.rejects(h.hub.reload(), (err: unknown) => {
      const e = err as { code?: string; details?: { key?: string } };
      return e.code === 'invalid_config' && e.details?.key === 'tls.key';
    });
    assert.equal(await servedFingerprint(port, renewed.pem), fingerprint(renewed.pem), 'the renewed pair stays');
    copyFileSync(renewed.key, join(dir, 'live.key'));
    assert.ok((await h.hub.reload()).applied.includes('tls'));
    open.close();
  });
});

describe('tls configuration', () => {
  test('bad files name their key; tls without auth on a public address still needs insecure', () => {
    const a = selfSigned('conf-a');
    const b = selfSigned('conf-b');
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ tls: { cert: join(dir, 'missing.crt'), key: a.key } }, 'tls.cert', /cannot read .*missing\.crt: ENOENT/],
      [{ tls: { cert: a.cert, key: join(dir, 'missing.key') } }, 'tls.key', /cannot read .*missing\.key: ENOENT/],
      [{ tls: { cert: notPem, key: a.key } }, 'tls.cert', /holds no PEM certificate/],
      [{ tls: { cert: a.cert, key: notPem } }, 'tls.key', /cannot be used/],
      [{ tls: { cert: a.cert, key: b.key } }, 'tls.key', /is not the key of the certificate/],
      [{ tls: { cert: a.cert } }, 'tls.key', /must have required property|Expected required property/],
      [{ host: '0.0.0.0', tls: { cert: a.cert, key: a.key } }, 'host', /without authentication/],
    ];
    for (const [overrides, key, message] of cases) {
      assert.throws(
        () => loadConfig({ env: {}, cwd: dir, overrides }),
        (err: unknown) => err instanceof ConfigError && err.key === key && message.test(err.message),
        `${JSON.stringify(overrides)} → ${key}`,
      );
    }
    const ok = loadConfig({ env: {}, cwd: dir, overrides: { tls: { cert: 'conf-a.crt', key: 'conf-a.key' } } });
    assert.deepEqual(ok.tls, { cert: a.cert, key: a.key }, 'relative paths start at the working directory');
  });

  test('vigil serve: https and wss URLs with a good pair; exit 2 naming tls.key with a mismatched one', async () => {
    const a = selfSigned('serve-a');
    const b = selfSigned('serve-b');
    const data = mkdtempSync(join(dir, 'data-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      `tls:\n  cert: ${a.cert}\n  key: ${a.key}\nauth:\n  api_keys:\n    - {key: ${KEY}, scopes: [admin]}\n`,
    );
    const p = runVigil(['serve', '--host', '0.0.0.0', '--port', '0', '--data', data, '--config', good]);
    const url = await p.url(30_000);
    assert.match(url, /^https:\/\/0\.0\.0\.0:\d+$/);
    assert.match(p.out(), /WebSocket wss:\/\/0\.0\.0\.0:\d+\/ws/);
    const health = await get(`https://127.0.0.1:${new URL(url).port}/health`, a.pem);
    assert.equal(health.status, 200);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `tls:\n  cert: ${a.cert}\n  key: ${b.key}\n`);
    const q = runVigil(['serve', '--port', '0', '--data', data, '--config', bad]);
    assert.equal(await q.exited, 2);
    assert.equal(
      q.err().trim(),
      `vigil: invalid configuration: tls.key: ${b.key} is not the key of the certificate in ${a.cert}`,
    );
  });
});
