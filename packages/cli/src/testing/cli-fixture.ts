/**
 * @module cli-fixture
 * Test support: captured output for `runCli` in process, an in-process hub on port 0 (host collector off), the CLI
 * and the hub's own `serve` as real child processes through tsx, and `until`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hub, loadConfig } from '@vigil/server';
import { runCli } from '../cli.js';
import type { Io } from '../io.js';

export const CLI_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
export const SERVER_MAIN = fileURLToPath(new URL('../../../server/src/cli/main.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface Captured {
  io: Io;
  out(): string;
  err(): string;
}

export function captureIo(opts: { env?: Record<string, string>; cwd?: string; tty?: boolean } = {}): Captured {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
      stderr: { write: (s: string) => (err += s), isTTY: opts.tty ?? false },
      env: { USER: 'tester', ...opts.env },
      cwd: opts.cwd ?? process.cwd(),
    },
    out: () => out,
    err: () => err,
  };
}

export interface CliRun extends Captured {
  code: number;
}

/** Runs `vigil <args>` in this process with captured output. */
export async function vigil(args: string[], opts: Parameters<typeof captureIo>[0] = {}): Promise<CliRun> {
  const c = captureIo(opts);
  const code = await runCli(args, c.io);
  return { ...c, code };
}

export interface TestHub {
  hub: Hub;
  url: string;
  stop(): Promise<void>;
}

export async function startTestHub(overrides: Record<string, unknown> = {}): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-test-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      host: '127.0.0.1',
      port: 0,
      data_dir: dir,
      log_level: 'silent',
      node_id: 'cli-test',
      metrics: { collect_interval: 0 },
      ...overrides,
    },
  });
  const hub = await Hub.create(config);
  const { url } = await hub.listen();
  return {
    hub,
    url,
    async stop() {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  out(): string;
  err(): string;
}

/** A TypeScript entry point as a child process (`node --import tsx <main> ...args`), output captured. */
export function spawnTs(main: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', NO_COLOR: '', ...env },
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
  return { child, exited, out: () => stdout, err: () => stderr };
}

/**
 * Polls `check` until it holds. The timeout is a safety net, never an assertion: it is at least 30 s whatever the
 * caller asks, so that a loaded machine only makes a test slower.
 */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const wait = Math.max(timeoutMs, 30_000);
  const deadline = Date.now() + wait;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${wait} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a hub as `vigil serve` through `main` (the server's or the CLI's), resolving with its URL. */
export async function spawnHub(main: string, dataDir: string): Promise<{ proc: Proc; url: string }> {
  const proc = spawnTs(main, ['serve', '--port', '0', '--data', dataDir]);
  const listening = /listening on (http:\/\/\S+)/;
  await until(() => listening.test(proc.out()), 20_000, `the hub to listen (stderr: ${proc.err().slice(-300)})`);
  return { proc, url: listening.exec(proc.out())![1]! };
}
