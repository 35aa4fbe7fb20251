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

/** Runs `vigil` with `args`; `as` runs it as another user (the caller must be root). */
export function runVigil(
  args: string[],
  env: Record<string, string> = {},
  as?: { uid: number; gid: number },
): ServeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
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
