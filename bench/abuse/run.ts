/**
 * @module bench/abuse
 * What one abusive client costs everyone else. A built hub runs as a child process with auth on; a bystander
 * WebSocket client sends `ping` every 20 ms throughout. Each case runs for `--seconds` and reports the bystander's
 * ping p50/p99/max, the hub's peak RSS, and what the abuser was answered, against a quiet baseline in the same run.
 * The abuser runs in a child process of its own, so that its work never delays the bystander's timing:
 *
 * | case | the abuser |
 * |---|---|
 * | `http-publish` | a publish-only key limited to `orders.>` posting 10 MiB bodies to `POST /api/v1/publish` back to back (4 at once) |
 * | `ws-frames` | 1 MiB WebSocket publish frames on five channels, back to back |
 * | `churn` | eight connections with one key, each sending subscribe/unsubscribe frames of 1,000 patterns as fast as the socket takes them, and opened again whenever the hub closes it |
 * | `range-query` | `GET /api/v1/metrics/q.m?from=now-5m&step=1s&agg=p95` over 10,000 series, 2 at once |
 * | `connections` | opens WebSockets from one address as fast as it can (and holds them) |
 *
 *   npm run build && node --import tsx bench/abuse/run.ts [--seconds 60] [--cases http-publish,ws-frames,...]
 *
 * Prints a table and writes `bench/results/abuse-<timestamp>.json`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { runBench } from '../fanout/server-process.js';
import { type LatencySummary, round, summarize } from '../fanout/stats.js';
import { ensureHubBuilt, type RunningHub, startHub, stopHub } from '../ingest/hub.js';

const CASES = ['http-publish', 'ws-frames', 'churn', 'range-query', 'connections'] as const;
type Case = (typeof CASES)[number];

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    cases: { type: 'string', default: CASES.join(',') },
    out: { type: 'string', default: join(import.meta.dirname, '..', 'results') },
    /** Internal: run one abuser (`<case> <hub url> <until ms>`) and print what it was answered as JSON. */
    abuser: { type: 'string', multiple: true },
  },
});
const SECONDS = Number(args.seconds);
const cases = args.cases.split(',').map((c) => {
  if (!(CASES as readonly string[]).includes(c)) throw new Error(`unknown case ${c} (use ${CASES.join(', ')})`);
  return c as Case;
});
const root = resolve(import.meta.dirname, '../..');

const KEYS = {
  admin: 'ak_bench_admin_0123456789abcdef',
  orders: 'pk_bench_orders_0123456789abcdef',
  reader: 'rk_bench_reader_0123456789abcdef',
};

interface CaseResult {
  name: string;
  ping: LatencySummary;
  pingsLost: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  /** What the abuser was answered: HTTP status or close code → count. */
  answers: Record<string, number>;
  hubAlive: boolean;
}

/** The bystander: one ping every 20 ms, each timed to its pong. */
class Bystander {
  private readonly ws: WebSocket;
  private readonly sent = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  samples: number[] = [];
  lost = 0;

  constructor(url: string) {
    this.ws = new WebSocket(`${url}/ws?token=${KEYS.reader}`);
    this.ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type?: string; id?: string };
      if (f.type !== 'pong' || f.id === undefined) return;
      const t0 = this.sent.get(f.id);
      if (t0 === undefined) return;
      this.sent.delete(f.id);
      this.samples.push(performance.now() - t0);
    });
  }

  open(): Promise<void> {
    return new Promise((ok, fail) => {
      this.ws.once('open', () => ok());
      this.ws.once('error', fail);
    });
  }

  start(): void {
    this.samples = [];
    this.lost = 0;
    this.sent.clear();
    this.timer = setInterval(() => {
      const id = `b${++this.n}`;
      this.sent.set(id, performance.now());
      this.ws.send(JSON.stringify({ op: 'ping', id }));
    }, 20);
  }

  /** Stops pinging; pings without a pong after 5 s count as lost. */
  async stop(): Promise<LatencySummary> {
    clearInterval(this.timer);
    const deadline = Date.now() + 5000;
    while (this.sent.size > 0 && Date.now() < deadline) await sleep(20);
    this.lost = this.sent.size;
    return summarize(this.samples);
  }

  close(): void {
    this.ws.close();
  }
}

function count(answers: Record<string, number>, key: string | number): void {
  answers[String(key)] = (answers[String(key)] ?? 0) + 1;
}

/** One churning connection after another: subscribe/unsubscribe frames of 1,000 patterns, as fast as it is taken. */
async function churnLoop(url: string, until: number, answers: Record<string, number>, patterns: string[]) {
  while (Date.now() < until) {
    const ws = new WebSocket(`${url}/ws?token=${KEYS.admin}`);
    await new Promise<void>((done) => {
      let i = 0;
      ws.on('open', () => {
        const pump = () => {
          for (
            let n = 0;
            n < 32 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1024 * 1024 && Date.now() < until;
            n++
          ) {
            ws.send(JSON.stringify({ op: i % 2 ? 'unsubscribe' : 'subscribe', id: `c${i++}`, channels: patterns }));
          }
          if (Date.now() >= until) ws.close();
          else if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
        };
        pump();
      });
      ws.on('message', (m) => {
        const f = JSON.parse(String(m)) as { type?: string; error?: { code?: string }; code?: string };
        if (f.type === 'reply') count(answers, f.error ? `reply ${f.error.code}` : 'reply ok');
        else if (f.type === 'error') count(answers, `error ${f.code ?? ''}`);
      });
      ws.on('close', (code) => {
        count(answers, `close ${code}`);
        done();
      });
      ws.on('error', () => undefined);
    });
  }
}

type Abuser = (hubUrl: string, until: number, answers: Record<string, number>) => Promise<void>;

const ABUSERS: Record<Case, Abuser> = {
  'http-publish': async (url, until, answers) => {
    const body = JSON.stringify({ channel: 'orders.eu', kind: 'blob', data: { pad: 'x'.repeat(10 * 1024 * 1024) } });
    const worker = async () => {
      while (Date.now() < until) {
        try {
          const res = await fetch(`${url}/api/v1/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.orders}` },
            body,
          });
          await res.arrayBuffer();
          count(answers, res.status);
          if (res.status === 429) await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        } catch (err) {
          count(answers, (err as Error).message.slice(0, 40));
          await sleep(50);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  },
  'ws-frames': async (url, until, answers) => {
    const data = 'y'.repeat(1024 * 1024 - 200);
    let i = 0;
    while (Date.now() < until) {
      const ws = new WebSocket(`${url}/ws?token=${KEYS.admin}`);
      await new Promise<void>((done) => {
        ws.on('open', () => {
          const pump = () => {
            for (
              let n = 0;
              n < 16 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 8 * 1024 * 1024 && Date.now() < until;
              n++
            ) {
              const frame = JSON.stringify({ op: 'publish', id: `w${++i}`, channel: `abuse.c${i % 5}`, data });
              ws.send(frame);
            }
            if (Date.now() >= until) ws.close();
            else if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
          };
          pump();
        });
        ws.on('message', (m) => {
          const f = JSON.parse(String(m)) as { type?: string; error?: { code?: string } };
          if (f.type === 'reply') count(answers, f.error ? `reply ${f.error.code}` : 'reply ok');
        });
        ws.on('close', (code) => {
          count(answers, `close ${code}`);
          done();
        });
        ws.on('error', () => undefined);
      });
    }
  },
  churn: async (url, until, answers) => {
    const patterns = Array.from({ length: 1000 }, (_, k) => `churn.p${k}.>`);
    // Eight connections at once, each opened again as soon as the hub closes it.
    await Promise.all(Array.from({ length: 8 }, () => churnLoop(url, until, answers, patterns)));
  },
  'range-query': async (url, until, answers) => {
    const worker = async () => {
      while (Date.now() < until) {
        const res = await fetch(`${url}/api/v1/metrics/q.m?from=now-5m&step=1s&agg=p95`, {
          headers: { authorization: `Bearer ${KEYS.reader}` },
        });
        const body = await res.text();
        count(answers, res.status === 200 ? '200' : `${res.status} ${body.slice(0, 80)}`);
      }
    };
    await Promise.all([worker(), worker()]);
  },
  connections: async (url, until, answers) => {
    const open: WebSocket[] = [];
    while (Date.now() < until) {
      const batch = Array.from({ length: 50 }, () => {
        const ws = new WebSocket(`${url}/ws?token=${KEYS.admin}`);
        return new Promise<void>((done) => {
          ws.once('open', () => {
            open.push(ws);
            count(answers, 'open');
            done();
          });
          ws.once('unexpected-response', (_req, res) => {
            count(answers, res.statusCode ?? 0);
            done();
          });
          ws.once('error', () => {
            count(answers, 'error');
            done();
          });
        });
      });
      await Promise.all(batch);
    }
    for (const ws of open) ws.terminate();
  },
};

/** 10,000 series of `q.m` with 5 minutes of 1 s samples, for the range-query case. */
async function seedSeries(url: string): Promise<void> {
  const now = Date.now();
  const series = 10_000;
  const seconds = 300;
  for (let s0 = 0; s0 < series; s0 += 100) {
    const lines: string[] = [];
    for (let s = s0; s < s0 + 100; s++) {
      for (let t = seconds; t > 0; t -= 1) lines.push(`q.m,series=s${s} value=${(s + t) % 97} ${now - t * 1000}`);
    }
    const res = await fetch(`${url}/api/v1/write/influx?precision=ms`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${KEYS.admin}` },
      body: lines.join('\n'),
    });
    if (!res.ok) throw new Error(`seed: ${res.status} ${await res.text()}`);
  }
}

/** Runs one abuser in a child process; resolves with what it was answered. */
function inChild(name: Case, url: string, until: number): Promise<Record<string, number>> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--abuser',
        name,
        '--abuser',
        url,
        '--abuser',
        String(until),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', fail);
    child.once('exit', (code) => {
      try {
        done(JSON.parse(out) as Record<string, number>);
      } catch {
        fail(new Error(`abuser ${name} exited ${code}: ${out.slice(0, 200)}`));
      }
    });
  });
}

async function measure(hub: RunningHub, name: string, abuser: Abuser | undefined): Promise<CaseResult> {
  const url = `http://127.0.0.1:${hub.port}`;
  const bystander = new Bystander(url);
  await bystander.open();
  let rssPeak = hub.server.rssBytes();
  const sampler = setInterval(() => {
    if (hub.server.alive) rssPeak = Math.max(rssPeak, hub.server.rssBytes());
  }, 100);
  const answers: Record<string, number> = {};
  bystander.start();
  const until = Date.now() + SECONDS * 1000;
  if (abuser) Object.assign(answers, await inChild(name as Case, url, until));
  else await sleep(until - Date.now());
  const ping = await bystander.stop();
  clearInterval(sampler);
  bystander.close();
  const alive = hub.server.alive;
  const result: CaseResult = {
    name,
    ping,
    pingsLost: bystander.lost,
    rssPeakMiB: round(rssPeak / 1048576, 1),
    rssEndMiB: alive ? round(hub.server.rssBytes() / 1048576, 1) : 0,
    answers,
    hubAlive: alive,
  };
  await sleep(1000);
  return result;
}

async function main(): Promise<void> {
  const missing = ensureHubBuilt(root, false, console.log);
  if (missing) throw new Error(missing);
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-abuse-'));
  const results: CaseResult[] = [];
  const load = [
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  ];
  try {
    for (const name of ['baseline', ...cases]) {
      // Each case gets a fresh hub with the defaults, so one case's leftovers do not weigh on the next.
      const hub = await startHub({
        root,
        tmpDir: tmp,
        name: `hub-${name}`,
        dataDir: join(tmp, `data-${name}`),
        config: {
          log_level: 'warn',
          auth: {
            api_keys: [
              { name: 'admin', key: KEYS.admin, scopes: ['admin'] },
              { name: 'orders', key: KEYS.orders, scopes: ['publish'], channels: ['orders.>'] },
              { name: 'reader', key: KEYS.reader, scopes: ['read'] },
            ],
          },
        },
      });
      try {
        if (name === 'range-query') await seedSeries(`http://127.0.0.1:${hub.port}`);
        console.log(`[${name}] ${SECONDS} s`);
        const r = await measure(hub, name, name === 'baseline' ? undefined : ABUSERS[name as Case]);
        results.push(r);
        console.log(
          `  ping p50 ${round(r.ping.p50Ms)} p99 ${round(r.ping.p99Ms)} max ${round(r.ping.maxMs)} ms (${r.ping.samples}, lost ${r.pingsLost}); RSS peak ${r.rssPeakMiB} MiB; ${JSON.stringify(r.answers)}`,
        );
      } finally {
        await stopHub(hub);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  load.push(
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  );
  const rows = [['case', 'ping p50', 'p99', 'max', 'lost', 'RSS peak', 'hub alive', 'abuser answered']];
  for (const r of results) {
    rows.push([
      r.name,
      `${round(r.ping.p50Ms)} ms`,
      `${round(r.ping.p99Ms)} ms`,
      `${round(r.ping.maxMs)} ms`,
      String(r.pingsLost),
      `${r.rssPeakMiB} MiB`,
      r.hubAlive ? 'yes' : 'NO',
      Object.entries(r.answers)
        .map(([k, v]) => `${k}×${v}`)
        .join(' '),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(
    `\nOne abusive client, ${SECONDS} s each; a bystander pings every 20 ms (load average ${load.join(' → ')})`,
  );
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  mkdirSync(args.out, { recursive: true });
  const path = join(args.out, `abuse-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ seconds: SECONDS, load, results }, null, 2)}\n`);
  console.log(`\nwrote ${path}`);
}

if (args.abuser === undefined) runBench(main);
else {
  const [name, url, until] = args.abuser as [Case, string, string];
  const answers: Record<string, number> = {};
  ABUSERS[name](url, Number(until), answers)
    .catch((err: unknown) => {
      answers[`failed: ${String(err).slice(0, 60)}`] = 1;
    })
    .then(() => {
      process.stdout.write(JSON.stringify(answers));
      process.exit(0);
    });
}
