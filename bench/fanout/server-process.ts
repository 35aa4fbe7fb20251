/**
 * @module bench/fanout/server-process
 * Starts a server under test as its own child process (so its CPU and memory are isolated from the load generator),
 * waits for `GET /health`, reads its RSS and CPU time from /proc, asks it for a GC over IPC, and stops it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CLK_TCK = 100;

export interface ServerSpec {
  /** Arguments to `node` after the common flags (script path and its arguments). */
  args: string[];
  cwd: string;
  logDir: string;
  name: string;
  port: number;
  /** Extra `node` flags (e.g. `--import`). */
  nodeFlags: string[];
  /** A program to run instead of `node` (then `nodeFlags` are not used), e.g. a peer from a Debian package. */
  command?: string;
}

/** A free TCP port on 127.0.0.1 (bound and released; a race is possible but unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function healthOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** What a fan-out run needs of the server side: one process, or several nodes behind a balancer. */
export interface FanoutServer {
  readonly alive: boolean;
  settle(): Promise<void>;
  rssBytes(): number;
  cpuMs(): { total: number; system: number };
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export class ServerProcess implements FanoutServer {
  /** Every child still running, so an interrupted run can kill them (`killAll`). */
  private static readonly live = new Set<ServerProcess>();
  private exited = false;
  private exitInfo = '';

  private constructor(
    readonly spec: ServerSpec,
    private readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    ServerProcess.live.add(this);
    child.on('exit', (code, signal) => {
      ServerProcess.live.delete(this);
      this.exited = true;
      this.exitInfo = `exited with ${signal ?? `code ${code}`}`;
    });
    child.on('error', (err) => {
      ServerProcess.live.delete(this);
      this.exited = true;
      this.exitInfo = `failed to start: ${err.message}`;
    });
  }

  static async start(spec: ServerSpec, readyTimeoutMs: number): Promise<ServerProcess> {
    const logPath = join(spec.logDir, `${spec.name}.log`);
    const fd = openSync(logPath, 'w');
    const argv = spec.command === undefined ? [...spec.nodeFlags, ...spec.args] : spec.args;
    const child = spawn(spec.command ?? process.execPath, argv, {
      cwd: spec.cwd,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    closeSync(fd);
    const server = new ServerProcess(spec, child, logPath);
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (server.exited) throw new Error(`${spec.name} ${server.exitInfo} before ready:\n${server.logTail()}`);
      if (await healthOk(spec.port)) return server;
      await sleep(100);
    }
    await server.stop();
    throw new Error(`${spec.name} not healthy after ${readyTimeoutMs} ms:\n${server.logTail()}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Resident set size in bytes (VmRSS). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  }

  /** CPU time of all the process's threads, in ms: total (user + system) and system. */
  cpuMs(): { total: number; system: number } {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime and stime are fields 14 and 15.
    const user = (Number(fields[11]) * 1000) / CLK_TCK;
    const system = (Number(fields[12]) * 1000) / CLK_TCK;
    return { total: user + system, system };
  }

  /** Asks the child for a full GC; resolves when it answers (or after 2 s). */
  gc(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.exited || !this.child.send) return resolve();
      const timer = setTimeout(finish, 2000);
      const onMessage = (msg: unknown): void => {
        if (typeof msg === 'object' && msg !== null && (msg as { gc?: unknown }).gc === 'done') finish();
      };
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.child.on('message', onMessage);
      this.child.send({ cmd: 'gc' }, (err) => {
        if (err) finish();
      });
      timer.unref();
    }).finally(() => this.child.removeAllListeners('message'));
  }

  /** GC, pause, GC, pause: lets freed memory settle before an RSS reading. */
  async settle(pauseMs = 500): Promise<void> {
    await this.gc();
    await sleep(pauseMs);
    await this.gc();
    await sleep(pauseMs);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Synchronous last resort for an interrupted run: SIGKILL every child still running. */
  static killAll(): void {
    for (const s of ServerProcess.live) s.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    for (let i = 0; i < 50 && !this.exited; i++) await sleep(100);
    if (!this.exited) this.child.kill('SIGKILL');
    for (let i = 0; i < 20 && !this.exited; i++) await sleep(100);
  }
}

/**
 * Runs a bench's `main`: every server child is killed when it fails or is interrupted, so none outlives the run.
 */
export function runBench(main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      ServerProcess.killAll();
      process.exit(130);
    });
  }
  main().catch((err: unknown) => {
    ServerProcess.killAll();
    console.error(err);
    process.exit(1);
  });
}
