/**
 * @module bench.test
 * `vigil bench` against a fake checkout (a temporary directory holding `bench/<name>/run.ts` and a link to this
 * repository's node_modules for tsx): output passes through, arguments after `--` reach the bench, failures exit
 * 1, a missing bench exits 2, and the progress bar is drawn only on a TTY.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, vigil } from '../testing/cli-fixture.js';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-cli-bench-'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(root, 'bench', 'fanout'), { recursive: true });
  mkdirSync(join(root, 'bench', 'ingest'), { recursive: true });
  mkdirSync(join(root, 'sub', 'dir'), { recursive: true });
  writeFileSync(
    join(root, 'bench', 'fanout', 'run.ts'),
    `const args: string[] = process.argv.slice(2);
console.log('[fanout] step 1');
await new Promise((r) => setTimeout(r, 300));
console.error('warming');
console.log('args ' + JSON.stringify(args));
process.stdout.write('no newline at the end');
`,
  );
  writeFileSync(join(root, 'bench', 'ingest', 'run.ts'), `console.log('boom'); process.exit(4);\n`);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('runs bench/<name>/run.ts of the checkout above the working directory and passes its output through', async () => {
  const r = await vigil(['bench', 'fanout', '--', '--scenario', 'idle'], { cwd: join(root, 'sub', 'dir') });
  assert.equal(r.code, 0, r.err());
  assert.equal(r.out(), '[fanout] step 1\nargs ["--scenario","idle"]\nno newline at the end\n');
  assert.match(r.err(), /^warming\nvigil: bench fanout finished in \d+s\n$/);
});

test('on a TTY, a progress bar with the latest line is drawn on stderr and cleared', async () => {
  const r = await vigil(['bench', '--expect', '2s'], { cwd: root, tty: true });
  assert.equal(r.code, 0);
  const err = r.err().replaceAll('\x1b', '<ESC>');
  assert.match(err, /\r<ESC>\[K<ESC>\[2m\[#*-*\] +\d+% 0:00 \/ ~0:02( {2}.*)?<ESC>\[0m/);
  assert.ok(err.includes('[fanout] step 1<ESC>[0m'), 'the latest line shows beside the bar');
  assert.ok(!r.out().includes('\r') && !r.out().includes('\x1b'), 'stdout only carries the bench output');
  const plain = await vigil(['bench', '--no-progress'], { cwd: root, tty: true });
  assert.doesNotMatch(plain.err(), /\r/);
});

test('a failing bench exits 1; a missing bench or a bad name exits 2', async () => {
  const failed = await vigil(['bench', 'ingest'], { cwd: root });
  assert.equal(failed.code, 1);
  assert.equal(failed.out(), 'boom\n');
  assert.match(failed.err(), /vigil: bench ingest failed after \d+s \(exit 4\)/);
  const missing = await vigil(['bench', 'alerts'], { cwd: root });
  assert.equal(missing.code, 2);
  assert.match(
    missing.err(),
    /^vigil: no bench\/alerts\/run\.ts in .+ or its parents: run 'vigil bench' from a Vigil checkout\n$/,
  );
  const outside = await vigil(['bench'], { cwd: tmpdir() });
  assert.equal(outside.code, 2);
  assert.equal((await vigil(['bench', 'nope'], { cwd: root })).code, 2);
  assert.equal((await vigil(['bench', 'fanout', 'extra'], { cwd: root })).code, 2);
  assert.equal((await vigil(['bench', '--expect', 'soon'], { cwd: root })).code, 2);
});
