/**
 * @module bench/ingest/query
 * Phase 4 of the ingest bench: range-query latency over 24 h of 1 s data of one series (86,400 samples with past
 * timestamps). The samples are posted, the hub is restarted (so they are sealed in the store, not in memory), then
 * `GET /api/v1/metrics/<name>?from&to&step` runs per step variant: a few warm-up queries, then the timed ones over a
 * keep-alive connection, each timed until its whole body is read. The reply's `tier` is recorded per variant.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { type LatencySummary, summarize } from '../fanout/stats.js';
import { SeriesDef } from './dataset.js';
import { keepAliveAgent, post, readIngestReply } from './http-client.js';
import type { RunningHub } from './hub.js';
import { Feed } from './throughput.js';

export const QUERY_SECONDS = 86_400;
/** The queried series: a CPU % series with its own seed, so it differs from the storage dataset's. */
export const QUERY_SEED = 2;

export function querySeries(): SeriesDef {
  return new SeriesDef(0, QUERY_SEED);
}

export interface QueryVariant {
  label: string;
  /** Bucket width, ms. */
  stepMs: number;
}

export interface QueryVariantResult extends QueryVariant {
  tier: string;
  points: number;
  responseBytes: number;
  latency: LatencySummary;
}

/** Posts the 24 h series in requests of `samplesPerRequest`. */
export async function ingestQuerySeries(
  hub: RunningHub,
  baseTs: number,
  samplesPerRequest: number,
): Promise<{ accepted: number; rejected: number; ms: number }> {
  const feed = new Feed([querySeries()], 'json', baseTs);
  const agent = keepAliveAgent(1);
  const t0 = performance.now();
  let accepted = 0;
  let rejected = 0;
  for (let sent = 0; sent < QUERY_SECONDS; sent += samplesPerRequest) {
    const n = Math.min(samplesPerRequest, QUERY_SECONDS - sent);
    const r = readIngestReply(await post(agent, hub.port, '/api/v1/metrics', 'application/json', feed.next(n)), n);
    accepted += r.accepted;
    rejected += r.rejected;
  }
  agent.destroy();
  return { accepted, rejected, ms: Math.round(performance.now() - t0) };
}

function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ agent, host: '127.0.0.1', port, path, timeout: 30_000 }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      })
      .on('error', reject);
  });
}

export async function runQueries(
  hub: RunningHub,
  baseTs: number,
  variants: readonly QueryVariant[],
  queries: number,
  warmup: number,
): Promise<QueryVariantResult[]> {
  const agent = keepAliveAgent(1);
  const metric = querySeries().metric;
  const from = baseTs;
  const to = baseTs + QUERY_SECONDS * 1000 - 1;
  const out: QueryVariantResult[] = [];
  try {
    for (const v of variants) {
      const path = `/api/v1/metrics/${metric}?from=${from}&to=${to}&step=${v.stepMs}`;
      const times: number[] = [];
      let tier = '?';
      let points = 0;
      let bytes = 0;
      for (let i = 0; i < warmup + queries; i++) {
        const t0 = performance.now();
        const res = await get(agent, hub.port, path);
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        if (i >= warmup) times.push(ms);
        if (i === 0) {
          const parsed = JSON.parse(res.body) as { tier: string; series: { points: unknown[] }[] };
          tier = parsed.tier;
          points = parsed.series[0]?.points.length ?? 0;
          bytes = res.body.length;
        }
      }
      out.push({ ...v, tier, points, responseBytes: bytes, latency: summarize(times) });
    }
  } finally {
    agent.destroy();
  }
  return out;
}
