/**
 * @module codec
 * JSON and MessagePack codecs for frames, chosen per connection by subprotocol. Decoding is hardened: `__proto__`
 * keys are dropped (and `constructor.prototype` shapes), and nesting deeper than a limit is rejected.
 */
// The plain build of msgpackr (`msgpackr/pack` and `msgpackr/unpack` resolve to it under Node): no stream
// classes and no native string extractor. The hub turns the extractor on by importing `msgpackr` (native.ts).
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';

export const SUBPROTOCOL_JSON = 'vigil.v1.json';
export const SUBPROTOCOL_MSGPACK = 'vigil.v1.msgpack';
export const SUBPROTOCOLS = [SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK] as const;

export type Encoding = 'json' | 'msgpack';

/** Maximum nesting depth accepted in a decoded frame. */
export const MAX_DEPTH = 32;

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

export interface Codec {
  readonly encoding: Encoding;
  readonly subprotocol: string;
  /** Whether frames go as binary WebSocket messages. */
  readonly binary: boolean;
  encode(frame: unknown): Buffer;
  decode(data: Buffer | string): unknown;
}

function isPrototypeCarrier(value: unknown): boolean {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype');
}

function reviver(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined;
  if (key === 'constructor' && isPrototypeCarrier(value)) return undefined;
  return value;
}

/**
 * JSON.parse that cannot introduce prototype-polluting keys. The reviver runs only when such a key may be present;
 * a `\u` escape can spell one (`"\u005f_proto__"`), so any escape takes the slow path too.
 */
export function safeJsonParse(text: string): unknown {
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    return JSON.parse(text, reviver);
  }
  return JSON.parse(text);
}

/** Depth of nested objects/arrays, stopping early once past `limit`. Iterative: deep input cannot blow the stack. */
export function exceedsDepth(value: unknown, limit = MAX_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > limit) return true;
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') stack.push([item, d + 1]);
    } else {
      for (const key in v as Record<string, unknown>) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') stack.push([item, d + 1]);
      }
    }
  }
  return false;
}

function stripPollution(value: unknown, depth: number): unknown {
  // JSON has no bigint; one would break schema checks and JSON fan-out (ext 0x42, BigInt64Array).
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH + 1) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = stripPollution(value[i], depth + 1);
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Uint8Array || value instanceof Date) return value;
    // A decoded map whose prototype was replaced: rebuild it as a plain object.
    const clean: Record<string, unknown> = {};
    for (const key of Object.keys(value)) clean[key] = (value as Record<string, unknown>)[key];
    return stripPollution(clean, depth);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key === '__proto__' || key === '__proto_' || (key === 'constructor' && isPrototypeCarrier(obj[key]))) {
      delete obj[key];
      continue;
    }
    obj[key] = stripPollution(obj[key], depth + 1);
  }
  return obj;
}

export const jsonCodec: Codec = {
  encoding: 'json',
  subprotocol: SUBPROTOCOL_JSON,
  binary: false,
  encode(frame) {
    return Buffer.from(JSON.stringify(frame));
  },
  decode(data) {
    const text = typeof data === 'string' ? data : data.toString('utf8');
    let value: unknown;
    try {
      value = safeJsonParse(text);
    } catch (err) {
      throw new DecodeError(`Invalid JSON: ${(err as Error).message}`);
    }
    if (exceedsDepth(value)) throw new DecodeError(`Nesting deeper than ${MAX_DEPTH} levels`);
    return value;
  },
};

const packr = new Packr({ useRecords: false, moreTypes: false });
// int64AsType 'number': 64-bit ints (any integer over 2^32 from most encoders) decode as numbers, as in JSON, not
// bigints. structuredClone false: no reference/cycle extensions.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  structuredClone: false,
});

export const msgpackCodec: Codec = {
  encoding: 'msgpack',
  subprotocol: SUBPROTOCOL_MSGPACK,
  binary: true,
  encode(frame) {
    return packr.pack(frame);
  },
  decode(data) {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let value: unknown;
    try {
      value = unpackr.unpack(buf);
    } catch (err) {
      throw new DecodeError(`Invalid MessagePack: ${(err as Error).message}`);
    }
    if (exceedsDepth(value)) throw new DecodeError(`Nesting deeper than ${MAX_DEPTH} levels`);
    return stripPollution(value, 0);
  },
};

export function codecFor(encoding: Encoding): Codec {
  return encoding === 'msgpack' ? msgpackCodec : jsonCodec;
}

/** Picks the codec for the offered subprotocols; JSON when none is offered or none is known. */
export function codecForSubprotocol(protocol: string | undefined): Codec {
  return protocol === SUBPROTOCOL_MSGPACK ? msgpackCodec : jsonCodec;
}
