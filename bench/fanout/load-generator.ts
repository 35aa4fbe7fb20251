/**
 * @module bench/fanout/load-generator
 * The load generator, one process: a pool of subscriber connections (connected in bounded batches), one paced
 * publisher, shared delivery counters, and latency sampling. Only every `sampleEvery`-th subscriber copies its event
 * payloads out, to read the send timestamp (`"t0":`, `performance.now()` of this process) without a JSON parse. The
 * timestamp is the event's last field and is found by a search from the end of the payload, so reading it costs the
 * same whatever envelope a server wraps the event in (Vigil's puts `type`, `channel`, `offset`, `ts` and `kind` first).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientFrame, OP_TEXT } from './framing.js';
import { type MiscLog, ONE_SHAPE, type Route, recordMisc, type Shape, type Target } from './targets.js';
import { type ConnHandler, type Counters, newCounters, WsConn } from './ws-client.js';

const T0_MARKER = Buffer.from('"t0":');
/** Send timestamps are `performance.now() + 1e6`: always 7 integer digits, so every event has the same size. */
const CLOCK_BASE = 1e6;

function clock(): number {
  return performance.now() + CLOCK_BASE;
}

/** Reads the number after the last `"t0":` straight from the bytes. */
export function extractT0(payload: Buffer): number {
  const at = payload.lastIndexOf(T0_MARKER);
  if (at < 0) return Number.NaN;
  const start = at + T0_MARKER.length;
  let end = start;
  while (end < payload.length && ((payload[end] >= 0x30 && payload[end] <= 0x39) || payload[end] === 0x2e)) end++;
  return Number(payload.toString('latin1', start, end));
}

export interface GeneratorOptions {
  host: string;
  port: number;
  target: Target;
  /** Data frames shorter than this are not events. */
  minEventLen: number;
  sampleEvery: number;
  connectConcurrency: number;
  timeoutMs: number;
  /** How subscribers and events are spread over channels (default: all on one channel). */
  shape?: Shape;
}

export interface PublishRun {
  sent: number;
  elapsedMs: number;
  /** Deliveries the events sent should make: per event, the ready subscribers of its channel when it matches. */
  expected: number;
}

export class LoadGenerator {
  readonly counters: Counters = newCounters();
  /** Non-event frames received by subscribers. */
  readonly misc: MiscLog = { count: 0, samples: [] };
  /** Frames received by the publisher (replies, errors). */
  readonly publisherFrames: MiscLog = { count: 0, samples: [] };
  readonly subscribers: WsConn[] = [];
  /** The channel index of each subscriber, aligned with `subscribers`. */
  private readonly subscriberChannels: number[] = [];
  private readonly shape: Shape;
  /** Events routed so far: event `seq` goes to channel `seq % channels` (see `Shape`). */
  private seq = 0;
  connectFailures = 0;
  /** Latency samples (ms) of events whose `t0` is at or after `recordFrom`; off while `recordFrom` is NaN. */
  latencies: number[] = [];
  private recordFrom = Number.NaN;
  lastEventLen = 0;
  private publisher: WsConn | null = null;
  private readonly publisherCounters: Counters = newCounters();
  private readonly subHandler: ConnHandler;
  private readonly pubHandler: ConnHandler;

  constructor(private readonly opts: GeneratorOptions) {
    const { target } = opts;
    this.shape = opts.shape ?? ONE_SHAPE;
    this.subHandler = {
      onPreReady: (conn, payload) => target.onPreReady(conn, payload, this.misc),
      onMisc: (conn, payload) => target.onMisc(conn, payload, this.misc),
      onEvent: (_conn, payload) => {
        this.lastEventLen = payload.length;
        if (Number.isNaN(this.recordFrom)) return;
        const t0 = extractT0(payload);
        if (t0 >= this.recordFrom) this.latencies.push(clock() - t0);
      },
    };
    this.pubHandler = {
      onPreReady: (conn, payload) => target.onPreReady(conn, payload, this.publisherFrames),
      onMisc: (conn, payload) => target.onMisc(conn, payload, this.publisherFrames),
      onEvent: (_conn, payload) => recordMisc(this.publisherFrames, payload),
    };
  }

  private connectOne(path: string, sampled: boolean, handler: ConnHandler, counters: Counters): Promise<WsConn> {
    const { host, port, target, minEventLen, timeoutMs } = this.opts;
    return WsConn.connect(
      { host, port, path, minEventLen, sampled, readyOnOpen: target.readyOnOpen, timeoutMs },
      handler,
      counters,
    );
  }

  /** Opens `count` more subscribers, `connectConcurrency` handshakes at a time, retrying failures twice. */
  async connectSubscribers(count: number): Promise<void> {
    const base = this.subscribers.length;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = base + next++;
        for (let attempt = 0; ; attempt++) {
          try {
            const sampled = index % this.opts.sampleEvery === 0;
            const channel = index % this.shape.channels;
            const path = this.opts.target.subscribePath(this.shape, channel);
            this.subscribers.push(await this.connectOne(path, sampled, this.subHandler, this.counters));
            this.subscriberChannels.push(channel);
            break;
          } catch (err) {
            if (attempt >= 2) {
              this.connectFailures++;
              this.counters.lastError = (err as Error).message;
              break;
            }
            await sleep(200);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: this.opts.connectConcurrency }, worker));
  }

  readyCount(): number {
    let n = 0;
    for (const s of this.subscribers) if (s.ready && s.open) n++;
    return n;
  }

  /** Ready subscribers per channel index. */
  readyPerChannel(): number[] {
    const counts = new Array<number>(this.shape.channels).fill(0);
    this.subscribers.forEach((s, i) => {
      if (s.ready && s.open) counts[this.subscriberChannels[i]!]!++;
    });
    return counts;
  }

  /** Waits until every subscriber finished its protocol handshake; returns how many are ready. */
  async waitReady(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.readyCount() < this.subscribers.length && Date.now() < deadline) await sleep(20);
    return this.readyCount();
  }

  async connectPublisher(): Promise<void> {
    const pub = await this.connectOne(this.opts.target.publishPath, false, this.pubHandler, this.publisherCounters);
    pub.minEventLen = Number.POSITIVE_INFINITY; // every frame the publisher gets is a reply or an error
    const deadline = Date.now() + this.opts.timeoutMs;
    while (!pub.ready && Date.now() < deadline) await sleep(10);
    if (!pub.ready) throw new Error('publisher handshake did not complete');
    this.publisher = pub;
  }

  publisherErrors(): string {
    return this.publisherCounters.lastError;
  }

  /** Starts collecting latency samples of events sent from `delayMs` from now on; clears earlier samples. */
  startRecording(delayMs: number): void {
    this.latencies = [];
    this.recordFrom = clock() + delayMs;
  }

  stopRecording(): void {
    this.recordFrom = Number.NaN;
  }

  private eventFrame(pad: string, route: Route): Buffer {
    // `t0` last: the sampled subscribers find it from the end (extractT0), past no envelope.
    const json = `{"pad":"${pad}","t0":${clock().toFixed(3)}}`;
    return clientFrame(OP_TEXT, Buffer.from(this.opts.target.publishText(json, this.shape, route)));
  }

  private nextRoute(): Route {
    const { channels, filtered } = this.shape;
    const j = this.seq++;
    return { channel: j % channels, match: !filtered || Math.floor(j / channels) % 2 === 0 };
  }

  /**
   * Publishes one event to channel 0 now, matching the subscribers' filter unless `match` is false; returns the
   * deliveries it should make.
   */
  publishOne(pad: string, match = true): number {
    this.publisher!.sendFrames([this.eventFrame(pad, { channel: 0, match })]);
    return match ? (this.readyPerChannel()[0] ?? 0) : 0;
  }

  /**
   * Publishes at `rate` events/s for `durationMs`, paced on a 1 ms timer with catch-up (so a late tick sends the
   * events it owes, each stamped when it is actually sent).
   */
  publishAt(rate: number, durationMs: number, pad: string): Promise<PublishRun> {
    const total = Math.max(1, Math.round((rate * durationMs) / 1000));
    const start = performance.now();
    const perChannel = this.readyPerChannel();
    let sent = 0;
    let expected = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        const elapsed = performance.now() - start;
        const due = Math.min(total, Math.floor((rate * elapsed) / 1000) + 1);
        if (due > sent) {
          const frames: Buffer[] = [];
          while (sent < due) {
            const route = this.nextRoute();
            if (route.match) expected += perChannel[route.channel]!;
            frames.push(this.eventFrame(pad, route));
            sent++;
          }
          this.publisher!.sendFrames(frames);
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve({ sent, elapsedMs: performance.now() - start, expected });
        }
      };
      const timer = setInterval(tick, 1);
      tick();
    });
  }

  /** Waits until `delivered` reaches `target` or `timeoutMs` passes; returns the time it took (ms). */
  async waitDelivered(target: number, timeoutMs: number): Promise<number> {
    const start = performance.now();
    while (this.counters.delivered < target && performance.now() - start < timeoutMs) await sleep(1);
    return performance.now() - start;
  }

  /** Waits until deliveries stop arriving (no progress for `quietMs`), at most `timeoutMs`. */
  async waitQuiet(quietMs: number, timeoutMs: number): Promise<void> {
    const start = Date.now();
    let last = -1;
    while (Date.now() - start < timeoutMs) {
      if (this.counters.delivered === last) return;
      last = this.counters.delivered;
      await sleep(quietMs);
    }
  }

  closeAll(): void {
    for (const s of this.subscribers) s.close();
    this.subscribers.length = 0;
    this.subscriberChannels.length = 0;
    this.publisher?.close();
    this.publisher = null;
  }
}
