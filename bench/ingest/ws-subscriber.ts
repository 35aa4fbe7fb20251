/**
 * @module bench/ingest/ws-subscriber
 * One Vigil WebSocket subscriber built on the fan-out bench's raw client (`bench/fanout/ws-client`): it subscribes in
 * the URL (`/ws?channels=...`), is ready after the `welcome` frame, and counts event frames with the frame scanner,
 * without copying or parsing them. Frames shorter than `minEventLen` (gaps, errors, replies) are copied out and
 * tallied; with `capture`, every frame is handed to `onFrame` (the alert bench parses alert events that way).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnHandler, type Counters, newCounters, WsConn } from '../fanout/ws-client.js';

const WELCOME = Buffer.from('"type":"welcome"');
const GAP = Buffer.from('"type":"gap"');

export interface SubscriberOptions {
  port: number;
  /** Comma-separated channels or patterns. */
  channels: string;
  /** Data frames at least this long are events (counted, not copied unless `onFrame` is given). */
  minEventLen: number;
  /** Receives every frame after the welcome (copied out); makes the subscriber copy each frame. */
  onFrame?: (payload: Buffer) => void;
}

export class Subscriber {
  readonly counters: Counters = newCounters();
  /** Small non-event frames: `gap` frames and anything else (first few kept). */
  gaps = 0;
  /** Offsets skipped, summed over `gap` frames with a finite range. */
  gapOffsets = 0;
  other = 0;
  readonly otherSamples: string[] = [];
  private conn: WsConn | null = null;

  private constructor(private readonly o: SubscriberOptions) {}

  static async connect(o: SubscriberOptions, timeoutMs = 10_000): Promise<Subscriber> {
    const sub = new Subscriber(o);
    const handler: ConnHandler = {
      onPreReady: (conn, payload) => {
        if (payload.includes(WELCOME)) conn.ready = true;
      },
      onMisc: (_conn, payload) => sub.misc(payload),
      onEvent: (_conn, payload) => o.onFrame?.(payload),
    };
    sub.conn = await WsConn.connect(
      {
        host: '127.0.0.1',
        port: o.port,
        path: `/ws?channels=${encodeURIComponent(o.channels)}`,
        minEventLen: o.minEventLen,
        sampled: o.onFrame !== undefined,
        readyOnOpen: false,
        timeoutMs,
      },
      handler,
      sub.counters,
    );
    const deadline = Date.now() + timeoutMs;
    while (!sub.conn.ready) {
      if (Date.now() > deadline) throw new Error('no welcome frame');
      await sleep(10);
    }
    // The URL subscription has no reply: give the hub a moment to register it.
    await sleep(100);
    return sub;
  }

  get events(): number {
    return this.counters.delivered;
  }

  get open(): boolean {
    return this.conn?.open ?? false;
  }

  private misc(payload: Buffer): void {
    if (payload.includes(GAP)) {
      this.gaps++;
      try {
        const g = JSON.parse(payload.toString('utf8')) as { from?: number; to?: number };
        if (typeof g.from === 'number' && typeof g.to === 'number' && g.to < Number.MAX_SAFE_INTEGER) {
          this.gapOffsets += g.to - g.from + 1;
        }
      } catch {
        // counted above
      }
    } else {
      this.other++;
      if (this.otherSamples.length < 5) this.otherSamples.push(payload.toString('utf8', 0, 200));
    }
    this.o.onFrame?.(payload);
  }

  /** Waits until no event arrived for `quietMs` (or `maxMs` passed); returns the wait. */
  async drain(quietMs = 300, maxMs = 5000): Promise<number> {
    const t0 = Date.now();
    let last = this.events;
    let lastChange = Date.now();
    while (Date.now() - t0 < maxMs) {
      await sleep(50);
      if (this.events !== last) {
        last = this.events;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= quietMs) break;
    }
    return Date.now() - t0;
  }

  close(): void {
    this.conn?.close();
  }
}
