/**
 * @module bench/alerts/load
 * The alert bench's data: 10,000 series of `bench.load` labelled `{host: h<i>, group: g<i % groups>}`, the rules that
 * select one group each, seeding every series at a normal value, and the background load: batches of normal samples
 * to random series, posted from one keep-alive connection on a fixed tick (a tick is skipped while the previous
 * batch is still in flight, so the load never queues up in the generator).
 */
import type http from 'node:http';
import { keepAliveAgent, post, readIngestReply } from '../ingest/http-client.js';
import type { YamlValue } from '../ingest/hub.js';

export const METRIC = 'bench.load';

export interface LoadShape {
  series: number;
  groups: number;
  /** Every `probeEvery`-th host is a probe: only probes get crossing samples; background load skips them. */
  probeEvery: number;
}

export function labelsOf(host: number, shape: LoadShape): { host: string; group: string } {
  return { host: `h${host}`, group: `g${host % shape.groups}` };
}

export function rules(shape: LoadShape): YamlValue[] {
  return Array.from({ length: shape.groups }, (_, g) => ({
    name: `load-g${g}`,
    kind: 'threshold',
    metric: METRIC,
    labels: { group: `g${g}` },
    op: '>',
    threshold: 90,
    resolve_threshold: 50,
    severity: 'warning',
  }));
}

export function sampleJson(host: number, shape: LoadShape, value: number, ts: number): string {
  const l = labelsOf(host, shape);
  return `{"name":"${METRIC}","labels":{"host":"${l.host}","group":"${l.group}"},"value":${value},"ts":${ts}}`;
}

function normalValue(): number {
  return Math.round((20 + Math.random() * 20) * 10) / 10;
}

/** Posts every series once at a normal value. */
export async function seed(port: number, shape: LoadShape, batch = 5000): Promise<void> {
  const agent = keepAliveAgent(1);
  try {
    for (let from = 0; from < shape.series; from += batch) {
      const items: string[] = [];
      const now = Date.now();
      for (let h = from; h < Math.min(shape.series, from + batch); h++) items.push(sampleJson(h, shape, 30, now));
      const r = readIngestReply(
        await post(agent, port, '/api/v1/metrics', 'application/json', `[${items.join(',')}]`),
        items.length,
      );
      if (r.rejected > 0) throw new Error(`seeding rejected ${r.rejected} samples: ${r.firstError}`);
    }
  } finally {
    agent.destroy();
  }
}

export interface BackgroundStats {
  batches: number;
  accepted: number;
  rejected: number;
  skippedTicks: number;
  firstError: string | null;
}

export class BackgroundLoad {
  readonly stats: BackgroundStats = { batches: 0, accepted: 0, rejected: 0, skippedTicks: 0, firstError: null };
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | null = null;
  private readonly agent: http.Agent = keepAliveAgent(1);
  private readonly hosts: number[];

  constructor(
    private readonly port: number,
    private readonly shape: LoadShape,
    private readonly batch: number,
  ) {
    this.hosts = [];
    for (let h = 0; h < shape.series; h++) if (h % shape.probeEvery !== 0) this.hosts.push(h);
  }

  /** Starts posting `rate` samples/s in batches of `batch`. */
  start(rate: number): void {
    const tickMs = Math.max(1, Math.round((1000 * this.batch) / rate));
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  private tick(): void {
    if (this.inFlight !== null) {
      this.stats.skippedTicks++;
      return;
    }
    const items: string[] = [];
    const now = Date.now();
    for (let i = 0; i < this.batch; i++) {
      const h = this.hosts[Math.floor(Math.random() * this.hosts.length)]!;
      items.push(sampleJson(h, this.shape, normalValue(), now));
    }
    this.inFlight = post(this.agent, this.port, '/api/v1/metrics', 'application/json', `[${items.join(',')}]`)
      .then((reply) => {
        const r = readIngestReply(reply, items.length);
        this.stats.batches++;
        this.stats.accepted += r.accepted;
        this.stats.rejected += r.rejected;
        if (r.firstError !== null) this.stats.firstError ??= r.firstError;
      })
      .catch((err: unknown) => {
        this.stats.firstError ??= String(err);
      })
      .finally(() => {
        this.inFlight = null;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
    this.agent.destroy();
  }
}
