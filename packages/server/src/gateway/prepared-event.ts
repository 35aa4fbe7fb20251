/**
 * @module prepared-event
 * An event on its way out: serialised at most once per encoding and framed once, then shared by every connection
 * that receives it.
 */
import type { Codec } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import { frameMessage } from './frame.js';

export class PreparedEvent {
  private json: Buffer | undefined;
  private msgpack: Buffer | undefined;
  private jsonPayload: Buffer | undefined;
  private msgpackPayload: Buffer | undefined;
  private key: string | undefined;
  private sseText: string | undefined;
  /** Monotonic per gateway, used to deliver an event once per connection when several patterns match. */
  readonly seq: number;
  /** performance.now() when the gateway received the event. */
  readonly receivedAt: number;

  constructor(
    readonly event: StoredEvent,
    seq: number,
    receivedAt: number,
  ) {
    this.seq = seq;
    this.receivedAt = receivedAt;
  }

  get channel(): string {
    return this.event.channel;
  }

  get offset(): number {
    return this.event.offset;
  }

  /** The wire payload (unframed), for transports that frame themselves. */
  payload(codec: Codec): Buffer {
    if (codec.binary) {
      this.msgpackPayload ??= codec.encode(this.frameObject());
      return this.msgpackPayload;
    }
    this.jsonPayload ??= codec.encode(this.frameObject());
    return this.jsonPayload;
  }

  /** The complete WebSocket frame for `codec`. */
  framed(codec: Codec): Buffer {
    if (codec.binary) {
      this.msgpack ??= frameMessage(this.payload(codec), true);
      return this.msgpack;
    }
    this.json ??= frameMessage(this.payload(codec), false);
    return this.json;
  }

  /** The Server-Sent Events message: `id: <channel>@<epoch>:<offset>` and the event frame as JSON. */
  sse(): string {
    if (this.sseText === undefined) {
      const e = this.event;
      this.sseText = `id: ${e.channel}@${e.epoch}:${e.offset}\ndata: ${JSON.stringify(this.frameObject())}\n\n`;
    }
    return this.sseText;
  }

  /** The conflation key of `latest` mode: the channel plus `data.id`, or the metric's labels. */
  latestKey(): string {
    if (this.key !== undefined) return this.key;
    const data = this.event.data;
    let part = '';
    if (data !== null && typeof data === 'object') {
      const d = data as Record<string, unknown>;
      if (Object.hasOwn(d, 'id') && (typeof d.id === 'string' || typeof d.id === 'number')) part = `#${d.id}`;
      else if (Object.hasOwn(d, 'labels')) part = `@${JSON.stringify(d.labels)}`;
    }
    this.key = `${this.event.channel}${part}`;
    return this.key;
  }

  private frameObject() {
    const e = this.event;
    return { type: 'event', channel: e.channel, offset: e.offset, ts: e.ts, kind: e.kind, data: e.data };
  }
}
