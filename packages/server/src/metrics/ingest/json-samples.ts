/**
 * @module json-samples
 * The JSON ingest body: one sample, an array of samples, or `{samples: [...]}`. Each element is validated on its
 * own; bad ones are reported by index and the good ones kept.
 */
import { normalizeSample, type Sample } from '../sample.js';

export interface JsonSamples {
  samples: Sample[];
  /** Index in the request of each accepted sample. */
  positions: number[];
  errors: { index: number; message: string }[];
}

export function readJsonSamples(body: unknown, now: number): JsonSamples | { error: string } {
  let items: unknown[];
  if (Array.isArray(body)) items = body;
  else if (body !== null && typeof body === 'object' && Object.hasOwn(body, 'samples')) {
    const inner = (body as { samples: unknown }).samples;
    if (!Array.isArray(inner)) return { error: '`samples` must be an array' };
    items = inner;
  } else if (body !== null && typeof body === 'object') items = [body];
  else return { error: 'Expected a sample object, an array of samples, or {samples: [...]}' };
  const out: JsonSamples = { samples: [], positions: [], errors: [] };
  for (let i = 0; i < items.length; i++) {
    const r = normalizeSample(items[i], now);
    if (r.ok) {
      out.samples.push(r.sample);
      out.positions.push(i);
    } else out.errors.push({ index: i, message: r.error });
  }
  return out;
}
