/**
 * @module serve-process
 * Test support: `vigil serve` as a real child process (through tsx), with its output captured and its URL parsed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from './hub-fixture.js';

const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  out(): string;
  err(): string;
  /** Resolves with the hub's base URL once it listens. */
  url(timeoutMs?: number): Promise<string>;
}

/**
 * Runs `vigil` with `args`. `obeyFileModes`: when the caller is root, the child runs without the capabilities that
 * let root write and read past file modes (through util-linux's `setpriv`), so that a read-only directory is
 * read-only to it too; for other users file modes already apply.
 */
export function runVigil(
  args: string[],
  env: Record<string, string> = {},
  options: { obeyFileModes?: boolean } = {},
): ServeProcess {
  const command = [process.execPath, '--import', 'tsx', main, ...args];
  if (options.obeyFileModes && process.getuid?.() === 0) {
    command.unshift('setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--');
  }
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const listening = /listening on (https?:\/\/\S+)/;
  return {
    child,
    exited,
    out: () => stdout,
    err: () => stderr,
    async url(timeoutMs = 20_000) {
      await until(() => listening.test(stdout), timeoutMs, `the hub to listen (stderr: ${stderr.slice(-500)})`);
      return listening.exec(stdout)![1]!;
    },
  };
}
