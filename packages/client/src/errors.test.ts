/**
 * @module errors.test
 * Keeps the client error codes and docs/client.md in step, and checks VigilClientError.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CLIENT_ERRORS, isPermanent, VigilClientError } from './errors.js';

const DOC = new URL('../../../docs/client.md', import.meta.url);

describe('VigilClientError', () => {
  test('docs/client.md lists every client error code, in order', () => {
    const markdown = readFileSync(DOC, 'utf8');
    const lines = markdown.split('\n');
    const start = lines.findIndex((l) => l.replace(/\s+/g, ' ').startsWith('| code | raised when | how to solve |'));
    assert.notEqual(start, -1, 'docs/client.md has no client error table');
    const codes: string[] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      codes.push(
        line
          .split('|')[1]!
          .trim()
          .replace(/^`(.*)`$/, '$1'),
      );
    }
    assert.deepEqual(codes, Object.keys(CLIENT_ERRORS));
  });

  test('carries the code, the default message, details, and where it came from', () => {
    const local = new VigilClientError('offline_queue_full', undefined, { max_items: 3 });
    assert.ok(local instanceof Error);
    assert.equal(local.name, 'VigilClientError');
    assert.equal(local.message, CLIENT_ERRORS.offline_queue_full);
    assert.deepEqual(local.details, { max_items: 3 });
    assert.equal(local.fromServer, false);
    const remote = VigilClientError.fromBody({ code: 'forbidden', message: 'no', details: { channel: 'alerts' } });
    assert.equal(remote.fromServer, true);
    assert.equal(remote.code, 'forbidden');
    assert.ok(isPermanent(remote));
    assert.ok(!isPermanent(new VigilClientError('internal', 'x')));
  });
});
