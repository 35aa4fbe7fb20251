/**
 * @module hub-fixture
 * Test support: a real hub on 127.0.0.1 port 0 with a temporary data directory, and a WebSocket test client that
 * records every frame and waits for the ones a test expects.
 *
 * The broker engine comes from VIGIL_TEST_BROKER (`memory`, the default, or `redis` at REDIS_URL with a key prefix
 * of its own, deleted at stop), so the same suites run against either engine (`npm run test:redis-engine`). Without
 * a reachable Redis such a run says so once and uses the memory engine, unless VIGIL_REQUIRE_SERVICES is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecForSubprotocol } from '@vigil/protocol';
import pino from 'pino';
import WebSocket from 'ws';
import { HistoryPolicies } from '../broker/history-policy.js';
import { RedisBroker } from '../broker/redis-broker.js';
import { loadConfig } from '../config/load.js';
import { Hub, type HubOptions, historyLimits } from '../hub.js';
import { dropRedisPrefix, redisReachable, redisUrl } from './services.js';

let redisChecked: Promise<boolean> | undefined;

/** Whether the Redis engine can be tested; without Redis, one line on stderr (or a failure when it is required). */
function testRedis(): Promise<boolean> {
  redisChecked ??= redisReachable(redisUrl()).then((ok) => {
    if (ok) return true;
    const line = `redis is not reachable at ${redisUrl()}; start it with \`redis-server --daemonize yes\``;
    if (process.env.VIGIL_REQUIRE_SERVICES) throw new Error(`${line} (VIGIL_REQUIRE_SERVICES is set)`);
    process.stderr.write(`# ${line}: these suites ran on the memory engine\n`);
    return false;
  });
  return redisChecked;
}

export interface RunningHub {
  hub: Hub;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startHub(
  overrides: Record<string, unknown> = {},
  options: Omit<HubOptions, 'logger'> & { dataDir?: string } = {},
): Promise<RunningHub> {
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-test-'));
  // A `vigil.config.yaml` in the data directory is read too (at start and by `reload()`), under the overrides.
  const load = () =>
    loadConfig({
      env: {},
      cwd: dir,
      overrides: { host: '127.0.0.1', port: 0, data_dir: dir, log_level: 'silent', node_id: 'test-node', ...overrides },
    });
  const config = load();
  const engine = process.env.VIGIL_TEST_BROKER ?? 'memory';
  let prefix: string | undefined;
  let broker = options.broker;
  if (broker === undefined && engine === 'redis' && (await testRedis())) {
    prefix = `vigil-test:${process.pid}:${randomBytes(6).toString('hex')}:`;
    broker = new RedisBroker({
      url: redisUrl(),
      prefix,
      policies: new HistoryPolicies(...historyLimits(config)),
    });
  }
  const hub = await Hub.create(config, { loadConfig: load, ...options, broker, logger: pino({ level: 'silent' }) });
  const { url } = await hub.listen();
  return {
    hub,
    url,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    async stop() {
      await hub.stop();
      if (prefix !== undefined) await dropRedisPrefix(redisUrl(), prefix);
      if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Frame = Record<string, unknown> & { type: string };

export class TestClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] = [];
  private closeWaiters: (() => void)[] = [];
  private nextId = 1;
  private get codec() {
    return codecForSubprotocol(this.ws.protocol || undefined);
  }

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = this.codec.decode(data) as Frame;
      this.frames.push(frame);
      const index = this.frames.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index >= w.from && w.pred(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.closeWaiters) w();
    });
    ws.on('error', () => {});
  }

  static async connect(
    url: string,
    protocols?: string | string[],
    opts?: WebSocket.ClientOptions,
  ): Promise<TestClient> {
    const ws = new WebSocket(url, protocols, opts);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.next((f) => f.type === 'welcome');
    return client;
  }

  /** The first frame (already received or future) matching `pred`, counting from frame index `from`. */
  next(pred: (f: Frame) => boolean, timeoutMs = 20_000, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for a frame; last: ${JSON.stringify(this.frames.at(-1))}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        from,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(this.codec.encode(frame), { binary: this.codec.binary });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Sends `frame` with a fresh id and resolves with its reply. */
  async request(frame: Record<string, unknown>, timeoutMs = 20_000): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ ...frame, id });
    return this.next((f) => f.type === 'reply' && f.id === id, timeoutMs, from);
  }

  events(channel?: string): Frame[] {
    return this.frames.filter((f) => f.type === 'event' && (channel === undefined || f.channel === channel));
  }

  waitClose(timeoutMs = 20_000): Promise<number | undefined> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.closeCode);
      });
    });
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `cond` (which may be async: then every 50 ms) until it holds. The timeout is a safety net, never an
 * assertion: it is at least 30 s whatever the caller asks, so that a loaded machine only makes a test slower.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + Math.max(timeoutMs, 30_000);
  for (;;) {
    const held = cond();
    if (typeof held === 'boolean' ? held : await held) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(typeof held === 'boolean' ? 5 : 50);
  }
}
