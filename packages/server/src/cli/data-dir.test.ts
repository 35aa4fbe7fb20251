/**
 * @module data-dir.test
 * `vigil serve` as a real process with a data directory it cannot use: a missing parent, a file in its place, or a
 * directory it may not write to exit with code 2 and one line naming the path, not a stack trace; a missing directory
 * whose parent exists is created.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runVigil } from '../testing/serve-process.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-datadir-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

async function refused(args: string[], obeyFileModes = false): Promise<string> {
  const p = runVigil(['serve', '--port', '0', ...args], {}, { obeyFileModes });
  assert.equal(await p.exited, 2, `exit 2 (stdout: ${p.out()}, stderr: ${p.err()})`);
  const err = p.err().trim();
  assert.equal(err.split('\n').length, 1, `one line: ${err}`);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  return err;
}

test('a data directory whose parent is missing: exit 2 naming both, nothing created', async () => {
  const dir = join(root, 'no-such-parent', 'data');
  const err = await refused(['--data', dir]);
  assert.equal(
    err,
    `vigil: invalid configuration: data_dir: cannot create ${dir}: its parent ${join(root, 'no-such-parent')} does not exist; create it (mkdir -p ${dir}) or choose another --data`,
  );
  assert.equal(existsSync(join(root, 'no-such-parent')), false);
});

test('a file where the data directory should be: exit 2 naming it', async () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assert.match(await refused(['--data', file]), new RegExp(`data_dir: ${file} is not a directory`));
  assert.match(
    await refused(['--data', join(file, 'data')]),
    /data_dir: cannot use .*a-file\/data: a part of the path is a file, not a directory$/,
  );
});

test('a data directory the hub may not write to: exit 2 naming it', async () => {
  const dir = join(root, 'read-only');
  mkdirSync(dir, { mode: 0o555 });
  chmodSync(dir, 0o555);
  const child = join(root, 'locked');
  mkdirSync(child, { mode: 0o555 });
  chmodSync(child, 0o555);
  // root writes past file modes: the hub then runs without that capability (see runVigil).
  assert.equal(
    await refused(['--data', dir], true),
    `vigil: invalid configuration: data_dir: cannot write to ${dir}: permission denied; give the user running the hub write access or choose another --data`,
  );
  assert.equal(
    await refused(['--data', join(child, 'data')], true),
    `vigil: invalid configuration: data_dir: cannot create ${join(child, 'data')} in ${child}: permission denied`,
  );
});

test('a missing data directory whose parent exists is created, and the hub serves', async () => {
  const dir = join(root, 'fresh');
  const p = runVigil(['serve', '--port', '0', '--data', dir]);
  const url = await p.url(30_000);
  assert.equal((await fetch(`${url}/health`)).status, 200);
  assert.ok(statSync(join(dir, 'state.db')).isFile());
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
