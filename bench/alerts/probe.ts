/**
 * @module bench/alerts/probe
 * The alert-latency measurement: a WebSocket client subscribed to `alerts` resolves waiters keyed by host and status
 * as `alert` events arrive (the time is taken when the frame is read), and the probe loop posts one crossing sample
 * (95) for a probe series, waits for its `firing` event, then posts 10 and waits for `resolved`. Each probe series is
 * used once, so flap protection never holds a resolution back.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAliveAgent, post, readIngestReply } from '../ingest/http-client.js';
import { Subscriber } from '../ingest/ws-subscriber.js';
import { type LoadShape, labelsOf, sampleJson } from './load.js';

const ALERT_KIND = Buffer.from('"kind":"alert"');

interface AlertFrame {
  type?: string;
  kind?: string;
  data?: { status?: string; labels?: Record<string, string> };
}

/** Resolves `wait(host, status)` promises from the `alerts` stream. */
export class AlertWatcher {
  alertEvents = 0;
  unmatched = 0;
  private readonly waiters = new Map<string, (at: number) => void>();
  private sub: Subscriber | null = null;

  async connect(port: number): Promise<void> {
    this.sub = await Subscriber.connect({
      port,
      channels: 'alerts',
      minEventLen: 1,
      onFrame: (payload) => this.onFrame(payload),
    });
  }

  private onFrame(payload: Buffer): void {
    if (!payload.includes(ALERT_KIND)) return;
    const at = performance.now();
    const msg = JSON.parse(payload.toString('utf8')) as AlertFrame;
    if (msg.type !== 'event' || msg.kind !== 'alert') return;
    this.alertEvents++;
    const key = `${msg.data?.labels?.host}|${msg.data?.status}`;
    const waiter = this.waiters.get(key);
    if (waiter === undefined) {
      this.unmatched++;
      return;
    }
    this.waiters.delete(key);
    waiter(at);
  }

  /** Resolves with the arrival time (`performance.now()`), or NaN after `timeoutMs`. */
  wait(host: string, status: string, timeoutMs: number): Promise<number> {
    const key = `${host}|${status}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        resolve(Number.NaN);
      }, timeoutMs);
      this.waiters.set(key, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  get open(): boolean {
    return this.sub?.open ?? false;
  }

  close(): void {
    this.sub?.close();
  }
}

export interface ProbeSamples {
  /** POST sent -> `firing` event received, ms. */
  fire: number[];
  /** POST sent -> `resolved` event received, ms. */
  resolve: number[];
  /** POST sent -> HTTP reply (after the sample is durable), ms. */
  fireReply: number[];
  resolveReply: number[];
  timeouts: number;
  rejected: number;
}

/** Fisher-Yates shuffle of the probe hosts, so consecutive probes hit different groups and rules. */
export function probeHosts(shape: LoadShape): number[] {
  const hosts: number[] = [];
  for (let h = 0; h < shape.series; h += shape.probeEvery) hosts.push(h);
  for (let i = hosts.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [hosts[i], hosts[j]] = [hosts[j]!, hosts[i]!];
  }
  return hosts;
}

async function oneTransition(
  agent: http.Agent,
  port: number,
  watcher: AlertWatcher,
  host: number,
  shape: LoadShape,
  value: number,
  status: 'firing' | 'resolved',
  timeoutMs: number,
): Promise<{ eventMs: number; replyMs: number; rejected: boolean }> {
  const event = watcher.wait(labelsOf(host, shape).host, status, timeoutMs);
  const t0 = performance.now();
  const body = `[${sampleJson(host, shape, value, Date.now())}]`;
  const reply = post(agent, port, '/api/v1/metrics', 'application/json', body).then((r) => ({
    at: performance.now(),
    r: readIngestReply(r, 1),
  }));
  const [at, rep] = await Promise.all([event, reply]);
  return { eventMs: at - t0, replyMs: rep.at - t0, rejected: rep.r.rejected > 0 };
}

export async function runProbes(
  port: number,
  watcher: AlertWatcher,
  shape: LoadShape,
  count: number,
  timeoutMs: number,
): Promise<ProbeSamples> {
  const agent = keepAliveAgent(1);
  const out: ProbeSamples = { fire: [], resolve: [], fireReply: [], resolveReply: [], timeouts: 0, rejected: 0 };
  const hosts = probeHosts(shape).slice(0, count);
  try {
    for (const host of hosts) {
      const fire = await oneTransition(agent, port, watcher, host, shape, 95, 'firing', timeoutMs);
      if (fire.rejected) out.rejected++;
      if (Number.isNaN(fire.eventMs)) out.timeouts++;
      else out.fire.push(fire.eventMs);
      out.fireReply.push(fire.replyMs);
      await sleep(1 + Math.random() * 4);
      const res = await oneTransition(agent, port, watcher, host, shape, 10, 'resolved', timeoutMs);
      if (res.rejected) out.rejected++;
      if (Number.isNaN(res.eventMs)) out.timeouts++;
      else out.resolve.push(res.eventMs);
      out.resolveReply.push(res.replyMs);
      await sleep(2 + Math.random() * 8);
    }
  } finally {
    agent.destroy();
  }
  return out;
}
