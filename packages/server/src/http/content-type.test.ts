/**
 * @module content-type.test
 * A JSON route sent a form, text or no Content-Type answers 415 `unsupported_media_type` naming what it takes, over
 * real HTTP; JSON (with or without charset) and the text ingest routes keep working, and bodiless POSTs are not held
 * to a type.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningHub, startHub } from '../testing/hub-fixture.js';

let h: RunningHub;
before(async () => {
  h = await startHub({ metrics: { collect_interval: 0 } });
});
after(() => h.stop());

interface ErrorReply {
  error: { code: string; message: string; details?: { content_type?: string; accepted?: string[] } };
}

async function post(path: string, type: string | undefined, body: string) {
  const headers: Record<string, string> = {};
  if (type !== undefined) headers['content-type'] = type;
  const res = await fetch(`${h.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as ErrorReply & Record<string, unknown> };
}

test('a form body to a JSON route: 415 with a hint naming application/json', async () => {
  const r = await post('/api/v1/publish', 'application/x-www-form-urlencoded', 'channel=orders.eu&data=1');
  assert.equal(r.status, 415);
  assert.equal(r.body.error.code, 'unsupported_media_type');
  assert.match(
    r.body.error.message,
    /POST \/api\/v1\/publish does not read Content-Type application\/x-www-form-urlencoded/,
  );
  assert.match(r.body.error.message, /application\/json/);
  assert.deepEqual(r.body.error.details, {
    content_type: 'application/x-www-form-urlencoded',
    accepted: ['application/json'],
  });
});

test('text/plain and other types to JSON routes: 415, in every scope', async () => {
  for (const [path, type] of [
    ['/api/v1/publish', 'text/plain'],
    ['/api/v1/publish', 'application/xml'],
    ['/api/v1/tasks', 'text/plain; charset=utf-8'],
    ['/api/v1/metrics', 'application/x-www-form-urlencoded'],
    ['/api/v1/rules', 'multipart/form-data; boundary=x'],
  ] as const) {
    const r = await post(path, type, '{"channel":"orders.eu","data":1}');
    assert.equal(r.status, 415, `${path} ${type}`);
    assert.equal(r.body.error.code, 'unsupported_media_type');
    assert.equal(r.body.error.details?.content_type, type.split(';')[0]);
  }
});

test('a body without Content-Type: 415 saying so', async () => {
  const res = await fetch(`${h.url}/api/v1/publish`, {
    method: 'POST',
    body: new Blob([Buffer.from('{"channel":"orders.eu","data":1}')]),
  });
  assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true);
  const body = (await res.json()) as ErrorReply;
  assert.equal(res.status, 415);
  assert.match(body.error.message, /a body without Content-Type/);
});

test('JSON (with charset) is read; the text ingest routes take text and answer 415 for JSON-only types', async () => {
  const ok = await post('/api/v1/publish', 'application/json; charset=utf-8', '{"channel":"orders.eu","data":1}');
  assert.equal(ok.status, 200);
  const text = await post('/api/v1/write/prometheus', 'text/plain', 'ct_test_metric 1\n');
  assert.equal(text.status, 200);
  assert.equal(text.body.accepted, 1);
  const form = await post('/api/v1/write/influx', 'application/x-www-form-urlencoded', 'ct_test,h=a v=1');
  assert.equal(form.status, 200, 'curl -d sends a form type; the text routes read it as text');
  const xml = await post('/api/v1/write/prometheus', 'application/xml', 'ct_test_metric 1\n');
  assert.equal(xml.status, 415);
  assert.equal(xml.body.error.code, 'unsupported_media_type');
  assert.match(xml.body.error.message, /send it as text\/plain/);
});

test('a POST without a body is not held to a type', async () => {
  const res = await fetch(`${h.url}/api/v1/publish`, { method: 'POST' });
  const body = (await res.json()) as ErrorReply;
  assert.equal(res.status, 400);
  assert.equal(body.error.code, 'bad_request');
});
