/**
 * @module scraper
 * Pulls Prometheus text from configured scrape targets on their intervals. Each scrape's samples get the target's
 * labels plus `instance` (host:port of the URL), and the scrape itself is recorded as `scrape.up` (1 or 0) and
 * `scrape.duration_ms`, labelled with `instance`.
 */
import type { ScrapeTarget } from '../config/load.js';
import { parsePrometheusText } from './ingest/prometheus-text.js';
import type { IngestOutcome } from './pipeline.js';
import type { Sample } from './sample.js';

export interface ScrapeStatus {
  url: string;
  instance: string;
  up: boolean;
  last_scrape: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  samples: number;
}

export type IngestFn = (samples: Sample[]) => IngestOutcome;

export class Scraper {
  private readonly timers: NodeJS.Timeout[] = [];
  readonly status: ScrapeStatus[];
  /** Scrapes under way, so `stop()` can wait for them. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(
    private readonly targets: readonly ScrapeTarget[],
    private readonly ingest: IngestFn,
  ) {
    this.status = targets.map((t) => ({
      url: t.url,
      instance: new URL(t.url).host,
      up: false,
      last_scrape: null,
      last_duration_ms: null,
      last_error: null,
      samples: 0,
    }));
  }

  start(): void {
    this.targets.forEach((t, i) => {
      this.run(i);
      this.timers.push(setInterval(() => this.run(i), t.intervalMs).unref());
    });
  }

  /** Stops the timers and lets scrapes under way finish; `start` resumes. */
  pause(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Stops the timers, aborts the scrapes under way and resolves once they have ended (nothing is ingested after). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.abort.abort();
    await Promise.all(this.running);
  }

  private run(i: number): void {
    if (this.stopped) return;
    // A failed write is logged by the ingest path; the scrape itself never throws past here.
    const scrape = this.scrape(i)
      .catch(() => undefined)
      .finally(() => this.running.delete(scrape));
    this.running.add(scrape);
  }

  /** Scrapes target `i` once; resolves when its samples have been ingested. */
  async scrape(i: number): Promise<ScrapeStatus> {
    const target = this.targets[i]!;
    const status = this.status[i]!;
    const started = Date.now();
    const extra = { ...target.labels, instance: status.instance };
    let samples: Sample[] = [];
    try {
      const res = await fetch(target.url, {
        signal: AbortSignal.any([AbortSignal.timeout(target.timeoutMs), this.abort.signal]),
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const parsed = parsePrometheusText(await res.text(), started);
      samples = parsed.samples;
      for (const s of samples) s.labels = { ...s.labels, ...extra };
      status.up = true;
      status.last_error = parsed.errors.length > 0 ? `${parsed.errors.length} malformed lines` : null;
    } catch (err) {
      status.up = false;
      status.last_error = (err as Error).message;
    }
    if (this.stopped) return status;
    const duration = Date.now() - started;
    status.last_scrape = started;
    status.last_duration_ms = duration;
    status.samples = samples.length;
    samples.push(
      { name: 'scrape.up', value: status.up ? 1 : 0, labels: extra, ts: started },
      { name: 'scrape.duration_ms', value: duration, labels: extra, ts: started },
    );
    await this.ingest(samples).durable;
    return status;
  }
}
