/**
 * @module bench/ingest/throughput
 * Phases 1 and 2 of the ingest bench: end-to-end samples/s over HTTP (JSON batches or Influx line protocol), each
 * reply arriving once its samples are durable, while one WebSocket client subscribed to `metrics.>` counts the
 * `metric_update` events streamed. Several keep-alive connections post in a closed loop; each owns a disjoint slice
 * of the series, so timestamps never go backwards for a series. Every series gets 1 s data with its own clock.
 */
import { performance } from 'node:perf_hooks';
import { type CpuWindow, cpuWindow, type LatencySummary, round, summarize } from '../fanout/stats.js';
import { influxPrefix, jsonPrefix, type SeriesDef, sampleTs, seriesDefs } from './dataset.js';
import { keepAliveAgent, post, readIngestReply } from './http-client.js';
import { hubStats, type RunningHub } from './hub.js';
import { monotonicUs } from './profile.js';
import { Subscriber } from './ws-subscriber.js';

export type IngestFormat = 'json' | 'influx';

export interface ThroughputOptions {
  format: IngestFormat;
  series: number;
  samplesPerRequest: number;
  connections: number;
  durationMs: number;
  warmupMs: number;
  /** First timestamp of every series: far enough in the past that the run never reaches now. */
  baseTs: number;
}

export interface ThroughputResult {
  format: IngestFormat;
  series: number;
  connections: number;
  samplesPerRequest: number;
  requests: number;
  accepted: number;
  rejected: number;
  firstError: string | null;
  windowMs: number;
  samplesPerSec: number;
  requestBytes: number;
  requestLatency: LatencySummary;
  events: {
    /** Events received during the measured window. */
    received: number;
    perSec: number;
    /** Events received from the window start until the stream drained: compare with `published`. */
    receivedToDrain: number;
    /** Events the hub published from the window start until the stream drained (`/api/v1/stats`). */
    published: number;
    queueDrops: number;
    gaps: number;
    gapOffsets: number;
    drainMs: number;
    subscriberOpen: boolean;
  };
  cpu: CpuWindow;
  serverRssMiB: number;
  /** The measured window on CLOCK_MONOTONIC (µs), to cut a server CPU profile to it. */
  windowMonoUs: [number, number];
  /** Set by the runner: which attempt this is, how long it waited for a quiet machine, whether it stayed noisy. */
  noise?: { attempt: number; waitedMs: number; noisy: boolean };
}

/** The series one connection owns, each with its own data clock, turned into request bodies. */
export class Feed {
  private readonly prefixes: string[];
  private readonly seconds: Int32Array;
  private cursor = 0;

  constructor(
    private readonly defs: SeriesDef[],
    private readonly format: IngestFormat,
    private readonly baseTs: number,
    private readonly jitterMs = 0,
  ) {
    this.prefixes = defs.map((d) => (format === 'json' ? jsonPrefix(d) : influxPrefix(d)));
    this.seconds = new Int32Array(defs.length);
  }

  get size(): number {
    return this.defs.length;
  }

  /** The body of the next `n` samples, round-robin over the series (time-major). */
  next(n: number): string {
    const json = this.format === 'json';
    let body = json ? '{"samples":[' : '';
    for (let k = 0; k < n; k++) {
      const i = this.cursor;
      this.cursor = i + 1 === this.defs.length ? 0 : i + 1;
      const def = this.defs[i]!;
      const ts = sampleTs(this.baseTs, this.seconds[i]!++, def.index, this.jitterMs);
      const v = def.next();
      if (json) body += `${k > 0 ? ',' : ''}${this.prefixes[i]}${ts},"value":${v}}`;
      else body += `${this.prefixes[i]}${v}${def.integer ? 'i' : ''} ${ts}\n`;
    }
    return json ? `${body}]}` : body;
  }
}

export function ingestPath(format: IngestFormat): { path: string; contentType: string } {
  return format === 'json'
    ? { path: '/api/v1/metrics', contentType: 'application/json' }
    : { path: '/api/v1/write/influx?precision=ms', contentType: 'text/plain' };
}

export async function runThroughput(hub: RunningHub, o: ThroughputOptions): Promise<ThroughputResult> {
  const defs = seriesDefs(o.series);
  const feeds = Array.from(
    { length: o.connections },
    (_, c) =>
      new Feed(
        defs.filter((d) => d.index % o.connections === c),
        o.format,
        o.baseTs,
      ),
  );
  const agent = keepAliveAgent(o.connections);
  const { path, contentType } = ingestPath(o.format);
  const sub = await Subscriber.connect({ port: hub.port, channels: 'metrics.>', minEventLen: 120 });

  // Create every series before measuring: one sample each.
  await Promise.all(
    feeds.map(async (f) => {
      const r = readIngestReply(await post(agent, hub.port, path, contentType, f.next(f.size)), f.size);
      if (r.rejected > 0) throw new Error(`priming rejected ${r.rejected} samples: ${r.firstError}`);
    }),
  );

  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const measureTo = measureFrom + o.durationMs;
  let measuring = false;
  let closeCpu: (() => CpuWindow) | null = null;
  let events0 = 0;
  let monoFrom = 0;
  let stats0: Promise<{ events_published: number; queue_drops: number }> | null = null;
  let requests = 0;
  let accepted = 0;
  let rejected = 0;
  let requestBytes = 0;
  let firstError: string | null = null;
  const latencies: number[] = [];

  const worker = async (feed: Feed): Promise<void> => {
    for (;;) {
      const now = performance.now();
      if (now >= measureTo) return;
      if (!measuring && now >= measureFrom) {
        measuring = true;
        closeCpu = cpuWindow(hub.server);
        monoFrom = monotonicUs();
        events0 = sub.events;
        stats0 = hubStats(hub.port);
      }
      const body = feed.next(o.samplesPerRequest);
      const sent = performance.now();
      const reply = readIngestReply(await post(agent, hub.port, path, contentType, body), o.samplesPerRequest);
      const done = performance.now();
      if (sent >= measureFrom && done <= measureTo) {
        requests++;
        accepted += reply.accepted;
        rejected += reply.rejected;
        requestBytes += body.length;
        latencies.push(done - sent);
        if (reply.firstError !== null) firstError ??= reply.firstError;
      }
    }
  };
  await Promise.all(feeds.map(worker));
  const monoTo = monotonicUs();
  const cpu = (closeCpu as (() => CpuWindow) | null)?.() ?? cpuWindow(hub.server)();
  const eventsInWindow = sub.events - events0;
  const drainMs = await sub.drain();
  const [before, after] = await Promise.all([stats0 ?? hubStats(hub.port), hubStats(hub.port)]);
  const rssMiB = hub.server.rssBytes() / 1048576;
  sub.close();
  agent.destroy();
  const windowS = o.durationMs / 1000;
  return {
    format: o.format,
    series: o.series,
    connections: o.connections,
    samplesPerRequest: o.samplesPerRequest,
    requests,
    accepted,
    rejected,
    firstError,
    windowMs: o.durationMs,
    samplesPerSec: Math.round(accepted / windowS),
    requestBytes: requests > 0 ? Math.round(requestBytes / requests) : 0,
    requestLatency: summarize(latencies),
    events: {
      received: eventsInWindow,
      perSec: Math.round(eventsInWindow / windowS),
      receivedToDrain: sub.events - events0,
      published: after.events_published - before.events_published,
      queueDrops: after.queue_drops - before.queue_drops,
      gaps: sub.gaps,
      gapOffsets: sub.gapOffsets,
      drainMs,
      subscriberOpen: sub.open,
    },
    cpu,
    serverRssMiB: round(rssMiB, 1),
    windowMonoUs: [monoFrom, monoTo],
  };
}
