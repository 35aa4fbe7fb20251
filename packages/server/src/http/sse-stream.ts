/**
 * @module sse-stream
 * One Server-Sent Events client as a gateway Peer: it subscribes through the same subscription manager as a
 * WebSocket connection (recovery, positions, gaps, one fan-out). Events are written as `id:`/`data:` messages; gaps,
 * snapshots, the subscribe result and a failed subscribe as named events (`event: gap`, `snapshot`, `subscribed`,
 * `error`); other control frames have no place in SSE and are left out. A stream whose client stops reading is ended
 * once the response holds more than `maxBytes` unsent.
 */
import type { ServerResponse } from 'node:http';
import type { GapReason } from '@vigil/protocol';
import type { Peer } from '../gateway/peer.js';
import type { PreparedEvent } from '../gateway/prepared-event.js';
import type { SharedBatch } from '../gateway/shared-batch.js';
import type { Subscription } from '../gateway/subscription.js';

/** The control frames written as named events. */
const NAMED = new Set(['gap', 'snapshot', 'subscribed', 'error']);

export class SseStream implements Peer {
  readonly subs = new Map<string, Subscription>();
  closed = false;
  dirty = false;
  lastSeq = -1;
  queuedBytes = 0;
  readonly sharesBatches = true;
  sharedSubs = 0;
  /** Event messages written. */
  written = 0;
  private parts: string[] = [];
  /** Events among `parts`. */
  private events = 0;

  constructor(
    readonly res: ServerResponse,
    private readonly maxBytes: number,
    /** Called once when the stream is ended for falling behind. */
    private readonly onOverflow: () => void,
  ) {}

  enqueueEvent(ev: PreparedEvent, _mode: number, _now: number): boolean {
    if (this.closed) return false;
    const text = ev.sse();
    if (this.pendingBytes() + text.length > this.maxBytes) {
      this.overflow();
      return false;
    }
    this.parts.push(text);
    this.queuedBytes += text.length;
    this.events++;
    return true;
  }

  takeBatch(batch: SharedBatch, from: number, to: number, _now: number): number {
    if (this.closed) return 0;
    const text = batch.sse(from, to);
    if (this.pendingBytes() + text.length > this.maxBytes) {
      this.overflow();
      return 0;
    }
    const events = batch.eventsIn(from, to);
    this.parts.push(text);
    this.queuedBytes += text.length;
    this.events += events;
    return events;
  }

  hasQueued(): boolean {
    return this.parts.length > 0;
  }

  enqueueControl(frame: unknown): void {
    const type = (frame as { type?: string }).type;
    if (type !== undefined && NAMED.has(type)) this.push(`event: ${type}\ndata: ${JSON.stringify(frame)}\n\n`);
  }

  addGap(channel: string, from: number, to: number, reason: GapReason): void {
    this.enqueueControl({ type: 'gap', channel, from, to, reason });
  }

  /** A comment line that keeps proxies from closing an idle stream. */
  ping(): void {
    if (!this.closed) this.res.write(': ping\n\n');
  }

  flush(): number {
    if (this.closed || this.parts.length === 0) return 0;
    const text = this.parts.join('');
    const events = this.events;
    this.parts = [];
    this.events = 0;
    this.queuedBytes = 0;
    this.res.write(text);
    this.written += events;
    return events;
  }

  pendingBytes(): number {
    return this.queuedBytes + this.res.writableLength;
  }

  clear(): void {
    this.parts = [];
    this.events = 0;
    this.queuedBytes = 0;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear();
    this.res.end();
  }

  private push(text: string): void {
    if (this.closed) return;
    this.parts.push(text);
    this.queuedBytes += text.length;
  }

  private overflow(): void {
    this.end();
    this.onOverflow();
  }
}
