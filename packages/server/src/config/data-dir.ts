/**
 * @module data-dir
 * The data directory is checked before anything opens a file in it: it is created when missing (its parent must
 * exist: a mistyped path is not turned into a tree of directories), and a file is written to it and removed. A
 * failure is a ConfigError on `data_dir` that names the path and what to do, so `vigil serve` exits 2 with one line
 * instead of a stack trace from SQLite.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from './load.js';

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function reason(err: unknown): string {
  switch (code(err)) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    default:
      return code(err);
  }
}

/** Makes sure `dir` exists and the hub can write to it; throws a ConfigError naming the path otherwise. */
export function prepareDataDir(dir: string): void {
  let exists = false;
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) {
      throw new ConfigError('data_dir', `${dir} is not a directory; give --data (data_dir) a directory`);
    }
    exists = true;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (code(err) !== 'ENOENT') throw new ConfigError('data_dir', `cannot use ${dir}: ${reason(err)}`);
  }
  if (!exists) {
    const parent = dirname(dir);
    try {
      if (!statSync(parent).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    } catch (err) {
      if (code(err) === 'ENOENT') {
        throw new ConfigError(
          'data_dir',
          `cannot create ${dir}: its parent ${parent} does not exist; create it (mkdir -p ${dir}) or choose another --data`,
        );
      }
      throw new ConfigError('data_dir', `cannot create ${dir}: ${reason(err)}`);
    }
    try {
      mkdirSync(dir);
    } catch (err) {
      if (code(err) !== 'EEXIST') {
        throw new ConfigError('data_dir', `cannot create ${dir} in ${parent}: ${reason(err)}`);
      }
    }
  }
  const probe = join(dir, `.vigil-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (err) {
    throw new ConfigError(
      'data_dir',
      `cannot write to ${dir}: ${reason(err)}; give the user running the hub write access or choose another --data`,
    );
  }
}
