/**
 * @module shared-batch
 * The fan-out of plain subscribers. Subscriptions with the same pattern and filter, in `stream` mode, whose client
 * has no other subscription that could match the same channels, are members of one FanoutGroup. An event reaches a
 * group once: its position is checked once, its filter runs once, and it is appended to the group's SharedBatch. At
 * the flush the batch's frames are concatenated once per encoding, and every member's client gets that one buffer by
 * reference: one write per client per flush, no work per event per subscriber.
 *
 * A member that must leave mid-turn (an unsubscribe, a frame of its own to send, a new overlapping subscription) takes
 * the part of the open batch it is owed into its own queue first (a "cut"), so that each client's frames keep their
 * order. Queue bounds and the slow-consumer policy apply to a batch as to single events (connection.ts).
 */
import { type Codec, type EventPredicate, type GapReason, jsonCodec } from '@vigil/protocol';
import type { Cursor } from './cursor.js';
import { frameMessage } from './frame.js';
import { PreparedEvent } from './prepared-event.js';
import type { Subscription } from './subscription.js';

/** A `gap` told to every member of a group at once (a channel's history could not cover a jump, or a new epoch). */
export class GapPart {
  private json: Buffer | undefined;
  private msgpack: Buffer | undefined;

  constructor(
    readonly channel: string,
    readonly from: number,
    readonly to: number,
    readonly reason: GapReason,
  ) {}

  framed(codec: Codec): Buffer {
    if (codec.binary) {
      this.msgpack ??= frameMessage(codec.encode(this.frame()), true);
      return this.msgpack;
    }
    this.json ??= frameMessage(codec.encode(this.frame()), false);
    return this.json;
  }

  /** The Server-Sent Events message: a named `gap` event. */
  sse(): string {
    return `event: gap\ndata: ${JSON.stringify(this.frame())}\n\n`;
  }

  private frame() {
    return { type: 'gap', channel: this.channel, from: this.from, to: this.to, reason: this.reason };
  }
}

export type BatchPart = PreparedEvent | GapPart;

/** One encoding's frames of a sealed batch, end to end, with where each part ends. */
interface Encoded {
  buf: Buffer;
  ends: Uint32Array;
}

/**
 * The frames a group collected since its last flush. Open, it only grows; sealed (at the flush), it never changes,
 * so a client's queue can hold a range of it by reference.
 */
export class SharedBatch {
  readonly parts: BatchPart[] = [];
  /** JSON bytes of the parts so far; the group is flushed early when they pass a share of the queue bound. */
  jsonBytes = 0;
  /** Events among the parts (the rest are gaps). */
  events = 0;
  private sealedAt = -1;
  private json: Encoded | undefined;
  private msgpack: Encoded | undefined;
  private sseAll: string | undefined;

  get length(): number {
    return this.parts.length;
  }

  push(part: BatchPart): void {
    this.parts.push(part);
    this.jsonBytes += part.framed(jsonCodec).length;
    if (part instanceof PreparedEvent) this.events++;
  }

  seal(): void {
    this.sealedAt = this.parts.length;
  }

  get sealed(): boolean {
    return this.sealedAt >= 0;
  }

  /** The frames of parts `from` to `to` (exclusive) as one buffer: a view of the shared one once sealed. */
  bytes(codec: Codec, from: number, to: number): Buffer {
    if (this.sealed) {
      const enc = this.encoded(codec);
      if (from === 0 && to === this.sealedAt) return enc.buf;
      return enc.buf.subarray(from === 0 ? 0 : enc.ends[from - 1], enc.ends[to - 1]);
    }
    if (to - from === 1) return this.parts[from]!.framed(codec);
    const frames: Buffer[] = [];
    for (let i = from; i < to; i++) frames.push(this.parts[i]!.framed(codec));
    return Buffer.concat(frames);
  }

  /** Byte length of `bytes(codec, from, to)`. */
  size(codec: Codec, from: number, to: number): number {
    if (this.sealed) {
      const enc = this.encoded(codec);
      return enc.ends[to - 1]! - (from === 0 ? 0 : enc.ends[from - 1]!);
    }
    if (!codec.binary && from === 0 && to === this.parts.length) return this.jsonBytes;
    let n = 0;
    for (let i = from; i < to; i++) n += this.parts[i]!.framed(codec).length;
    return n;
  }

  /** The Server-Sent Events messages of parts `from` to `to` (exclusive). */
  sse(from: number, to: number): string {
    const whole = from === 0 && to === this.sealedAt;
    if (whole && this.sseAll !== undefined) return this.sseAll;
    let text = '';
    for (let i = from; i < to; i++) text += this.parts[i]!.sse();
    if (whole) this.sseAll = text;
    return text;
  }

  /** Events among parts `from` to `to` (exclusive). */
  eventsIn(from: number, to: number): number {
    if (from === 0 && to === this.parts.length) return this.events;
    let n = 0;
    for (let i = from; i < to; i++) if (this.parts[i] instanceof PreparedEvent) n++;
    return n;
  }

  private encoded(codec: Codec): Encoded {
    let enc = codec.binary ? this.msgpack : this.json;
    if (enc === undefined) {
      const n = this.sealedAt;
      const frames: Buffer[] = new Array(n);
      const ends = new Uint32Array(n);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const f = this.parts[i]!.framed(codec);
        frames[i] = f;
        at += f.length;
        ends[i] = at;
      }
      enc = { buf: n === 1 ? frames[0]! : Buffer.concat(frames, at), ends };
      if (codec.binary) this.msgpack = enc;
      else this.json = enc;
    }
    return enc;
  }
}

/**
 * Plain subscriptions with one pattern and filter. For an exact channel, `cursor` is the position every member has
 * delivered up to (members join only at it); a wildcard group has none: its members track no channel positions of
 * their own, and take the node's live feed as it comes (exactly-once and in order per channel already).
 */
export class FanoutGroup {
  readonly members: Subscription[] = [];
  batch = new SharedBatch();
  /** Waiting in the outbox's list of groups to flush. */
  dirty = false;

  constructor(
    readonly pattern: string,
    /** The pattern plus the filter's canonical form: what makes subscriptions share a group. */
    readonly key: string,
    readonly filter: EventPredicate | undefined,
    public cursor: Cursor | undefined,
  ) {}

  add(sub: Subscription): void {
    sub.group = this;
    sub.slot = this.members.length;
    sub.cut = this.batch.length;
    this.members.push(sub);
    sub.conn.sharedSubs++;
  }

  /** Removes `sub`; the caller has already cut what the member was owed. */
  remove(sub: Subscription): void {
    const last = this.members.pop()!;
    if (last !== sub) {
      this.members[sub.slot] = last;
      last.slot = sub.slot;
    }
    sub.group = undefined;
    sub.slot = -1;
    sub.cut = 0;
    sub.conn.sharedSubs--;
  }

  /** Ends the open batch: returns it sealed (or undefined when empty) and starts a new one. */
  take(): SharedBatch | undefined {
    const batch = this.batch;
    if (batch.length === 0) return undefined;
    batch.seal();
    this.batch = new SharedBatch();
    return batch;
  }
}
