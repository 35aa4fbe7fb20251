/**
 * @module time-range
 * The global time control, kept in the URL: `?range=15m` is live (the last 15 minutes, moving), `?from=..&to=..`
 * (ms since the epoch) is a fixed range (`range` is then the live window a double-click returns to), and `?paused=1`
 * freezes a live view. Every chart on a page follows it.
 */
import { useMemo } from 'preact/hooks';
import { setParams, useRoute } from './router.js';

export const LIVE_SPANS: readonly [label: string, ms: number][] = [
  ['5m', 5 * 60_000],
  ['15m', 15 * 60_000],
  ['1h', 3_600_000],
  ['6h', 6 * 3_600_000],
  ['24h', 24 * 3_600_000],
  ['7d', 7 * 24 * 3_600_000],
];

export const DEFAULT_SPAN = '15m';

export type TimeRange =
  | { live: true; span: string; spanMs: number; paused: boolean }
  | { live: false; from: number; to: number; paused: false /** the live window to return to */; span: string };

export function parseRange(params: URLSearchParams): TimeRange {
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  const span = LIVE_SPANS.find(([label]) => label === params.get('range')) ?? LIVE_SPANS[1]!;
  if (params.has('from') && params.has('to') && Number.isFinite(from) && Number.isFinite(to) && to > from) {
    return { live: false, from, to, paused: false, span: span[0] };
  }
  return { live: true, span: span[0], spanMs: span[1], paused: params.get('paused') === '1' };
}

/** The window a range covers now: `[from, to]` in ms. */
export function windowOf(range: TimeRange, now = Date.now()): [number, number] {
  return range.live ? [now - range.spanMs, now] : [range.from, range.to];
}

export function useTimeRange(): TimeRange {
  const { params } = useRoute();
  const key = `${params.get('range')}|${params.get('from')}|${params.get('to')}|${params.get('paused')}`;
  return useMemo(() => parseRange(params), [key]);
}

export function goLive(span: string = DEFAULT_SPAN): void {
  setParams({ range: span === DEFAULT_SPAN ? undefined : span, from: undefined, to: undefined, paused: undefined });
}

/** A fixed range; the live window stays in the URL, for the way back. */
export function zoomTo(from: number, to: number): void {
  setParams({ from: Math.round(from), to: Math.round(to), paused: undefined });
}

/** A range query step (ms) that gives about one point per pixel: whole seconds, at least 1 s. */
export function stepFor(from: number, to: number, widthPx: number): number {
  const raw = (to - from) / Math.max(100, widthPx);
  return Math.max(1000, Math.ceil(raw / 1000) * 1000);
}
