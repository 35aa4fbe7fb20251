/**
 * @module errors.test
 * Keeps `docs/errors.md` in step with the registry (codes, order, HTTP statuses, solve text, close codes), and checks
 * VigilError and toErrorBody.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CloseCode, ERROR_CODES, ERRORS, isErrorCode, toErrorBody, VigilError } from './errors.js';

const DOC = new URL('../../../docs/errors.md', import.meta.url);

/** Rows of the first markdown table whose header row starts with `header`, as trimmed cells. */
function table(markdown: string, header: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.replace(/\s+/g, ' ').startsWith(header));
  assert.notEqual(start, -1, `docs/errors.md has no table starting with "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

describe('docs/errors.md', () => {
  const markdown = readFileSync(DOC, 'utf8');

  test('lists every registry code, in registry order, with its HTTP status and solve text', () => {
    const rows = table(markdown, '| code | HTTP status | meaning | how to solve |');
    assert.deepEqual(
      rows.map((r) => unquote(r[0]!)),
      ERROR_CODES,
    );
    for (const [code, status, meaning, solve] of rows) {
      const spec = ERRORS[unquote(code!) as keyof typeof ERRORS];
      assert.equal(Number(status), spec.status, `status of ${code}`);
      assert.ok(meaning && meaning.length > 0, `meaning of ${code}`);
      assert.equal(solve, spec.solve, `solve text of ${code}`);
    }
  });

  test('lists every WebSocket close code', () => {
    const rows = table(markdown, '| code | meaning | what the client should do |');
    assert.deepEqual(
      rows.map((r) => Number(r[0])),
      Object.values(CloseCode),
    );
    for (const r of rows) assert.ok(r[2] && r[2].length > 0);
  });
});

describe('registry', () => {
  test('every code is snake_case and has a status, message and solve text', () => {
    assert.ok(ERROR_CODES.length > 0);
    for (const code of ERROR_CODES) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/);
      const spec = ERRORS[code];
      assert.ok(Number.isInteger(spec.status) && spec.status >= 400 && spec.status < 600, code);
      assert.ok(spec.message.length > 0 && spec.solve.length > 0, code);
    }
  });

  test('covers the codes fixed by the protocol contract', () => {
    for (const code of [
      'bad_request',
      'unknown_op',
      'unknown_method',
      'invalid_channel',
      'forbidden',
      'unauthorized',
      'rate_limited',
      'too_many_subscriptions',
      'payload_too_large',
      'not_found',
      'internal',
    ]) {
      assert.ok(isErrorCode(code), code);
    }
  });

  test('isErrorCode accepts only own registry keys', () => {
    assert.equal(isErrorCode('forbidden'), true);
    assert.equal(isErrorCode('nope'), false);
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode('__proto__'), false);
    assert.equal(isErrorCode('constructor'), false);
  });
});

describe('VigilError', () => {
  test('defaults its message and status from the registry', () => {
    const err = new VigilError('forbidden');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'VigilError');
    assert.equal(err.code, 'forbidden');
    assert.equal(err.status, 403);
    assert.equal(err.message, ERRORS.forbidden.message);
    assert.equal(err.details, undefined);
    assert.deepEqual(err.toBody(), { code: 'forbidden', message: 'Not allowed' });
    assert.equal(Object.hasOwn(err.toBody(), 'details'), false);
  });

  test('keeps a custom message and details', () => {
    const err = new VigilError('rate_limited', 'Slow down', { retry_after_ms: 250 });
    assert.equal(err.status, 429);
    assert.deepEqual(err.toBody(), { code: 'rate_limited', message: 'Slow down', details: { retry_after_ms: 250 } });
  });

  test('every code builds an error with its own status', () => {
    for (const code of ERROR_CODES) assert.equal(new VigilError(code).status, ERRORS[code].status);
  });
});

describe('toErrorBody', () => {
  test('passes a VigilError through', () => {
    const err = new VigilError('not_found', 'No alert a1', { id: 'a1' });
    assert.deepEqual(toErrorBody(err), { code: 'not_found', message: 'No alert a1', details: { id: 'a1' } });
  });

  test('turns anything else into internal without leaking its text', () => {
    const secret = 'password=hunter2 at /srv/db';
    const thrown: unknown[] = [
      new Error(secret),
      new TypeError(secret),
      secret,
      { code: 'forbidden', message: secret },
      Object.assign(new Error(secret), { code: 'forbidden', status: 403 }),
      null,
      undefined,
      42,
    ];
    for (const err of thrown) {
      const body = toErrorBody(err);
      assert.deepEqual(body, { code: 'internal', message: ERRORS.internal.message });
      assert.ok(!JSON.stringify(body).includes('hunter2'));
    }
  });
});
