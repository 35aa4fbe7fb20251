/**
 * @module bench/fanout/idle
 * The idle-connections scenario for one target: open many connections (subscribed, no traffic) in bounded batches,
 * hold them, and report the server's memory per connection as (RSS after - RSS before) / connections, each RSS read
 * after a GC settle of the server child.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunContext, startTarget } from './context.js';
import { LoadGenerator } from './load-generator.js';
import { round } from './stats.js';
import type { Target } from './targets.js';

export interface IdleOptions {
  connections: number;
  connectConcurrency: number;
  /** How long the connections are held before the second reading (ms). */
  holdMs: number;
}

export interface IdleResult {
  target: string;
  label: string;
  requested: number;
  connected: number;
  stillOpen: number;
  connectMs: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  rssPerConnBytes: number;
  heldMs: number;
  lastError: string;
}

export async function runIdle(target: Target, opts: IdleOptions, ctx: RunContext): Promise<IdleResult> {
  const { server, port } = await startTarget(target, ctx);
  const gen = new LoadGenerator({
    host: ctx.host,
    port,
    target,
    minEventLen: 100,
    sampleEvery: Number.MAX_SAFE_INTEGER,
    connectConcurrency: opts.connectConcurrency,
    timeoutMs: 20_000,
  });
  try {
    await server.settle();
    const rssBefore = server.rssBytes();
    const t0 = performance.now();
    await gen.connectSubscribers(opts.connections);
    const connected = await gen.waitReady(20_000);
    const connectMs = performance.now() - t0;
    ctx.log(`  ${connected}/${opts.connections} connected in ${Math.round(connectMs)} ms`);
    if (connected < opts.connections * 0.99) {
      throw new Error(`only ${connected}/${opts.connections} connections ready (${gen.counters.lastError})`);
    }
    const held = performance.now();
    await sleep(opts.holdMs);
    await server.settle(1000);
    const rssAfter = server.rssBytes();
    const stillOpen = gen.readyCount();
    const perConn = (rssAfter - rssBefore) / connected;
    ctx.log(`  ${stillOpen} still open; server RSS +${round((rssAfter - rssBefore) / 1048576, 1)} MiB`);
    return {
      target: target.id,
      label: target.label,
      requested: opts.connections,
      connected,
      stillOpen,
      connectMs: Math.round(connectMs),
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssPerConnBytes: Math.round(perConn),
      heldMs: Math.round(performance.now() - held),
      lastError: gen.counters.lastError,
    };
  } finally {
    gen.closeAll();
    await server.stop();
  }
}
