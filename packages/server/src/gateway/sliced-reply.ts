/**
 * @module sliced-reply
 * Replies too large to encode in one go (a range query's answer can hold 100,000 points): when a result has a
 * top-level array of more than `SLICE_ITEMS` items, the reply is encoded one item at a time, letting the event loop
 * handle other work every `SLICE_MS`, and the pieces are joined into the one frame the client gets. The bytes are the
 * same as encoding the reply whole.
 */
import type { Codec } from '@vigil/protocol';

/** Results with a top-level array longer than this are encoded in slices. */
export const SLICE_ITEMS = 64;
const SLICE_MS = 10;
/** Stands in for the sliced array while the rest of the reply is encoded. */
const SENTINEL = '\u0000vigil:sliced-array\u0000';

/** The key of the array to slice, when `result` has one long enough. */
export function slicedKey(result: unknown): string | undefined {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined;
  let best: string | undefined;
  let longest = SLICE_ITEMS;
  for (const [key, value] of Object.entries(result)) {
    if (Array.isArray(value) && value.length > longest) {
      best = key;
      longest = value.length;
    }
  }
  return best;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Encodes `frame`, whose `result[key]` is an array, one array item at a time. */
export async function encodeSliced(
  codec: Codec,
  frame: { result: Record<string, unknown> },
  key: string,
): Promise<Buffer> {
  const items = frame.result[key] as unknown[];
  const parts: Buffer[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    parts.push(codec.encode(item));
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  const shell = codec.encode({ ...frame, result: { ...frame.result, [key]: SENTINEL } });
  const marker = codec.encode(SENTINEL);
  const at = shell.indexOf(marker);
  if (at < 0) throw new Error('sliced reply: the placeholder was not found in the encoded frame');
  const array = codec.encoding === 'json' ? joinJson(parts) : [msgpackArrayHeader(parts.length), ...parts];
  return Buffer.concat([shell.subarray(0, at), ...array, shell.subarray(at + marker.length)]);
}

function joinJson(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [Buffer.from('[')];
  const comma = Buffer.from(',');
  parts.forEach((p, i) => {
    if (i > 0) out.push(comma);
    out.push(p);
  });
  out.push(Buffer.from(']'));
  return out;
}

function msgpackArrayHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x90 | n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xdc;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}
