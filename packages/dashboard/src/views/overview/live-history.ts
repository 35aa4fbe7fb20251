/**
 * @module live-history
 * `useRangeHistory(store, queries, range)`: backfills a series store from the range API whenever the time range
 * changes, with a `step` chosen from the charts' pixel width so that the right rollup tier answers; live ranges
 * longer than the live buffer refetch once a minute. Each answer is put in the store as it lands, the first chart's
 * queries going out first; the hook says which range's first chart and whole history are in, for the bench's
 * "range drawn" mark. Only metrics the hub holds are queried.
 */
import { useEffect, useState } from 'preact/hooks';
import type { SeriesStore } from '../../charts/series-store.js';
import { useHub } from '../../lib/hub-context.js';
import { stepFor, type TimeRange, windowOf } from '../../lib/time-range.js';

export interface HistoryQuery {
  metric: string;
  labels?: Record<string, string>;
}

let known: { at: number; metrics: Promise<Set<string>> } | undefined;

/**
 * The hub's metric names, read at most once a minute (new host metrics are rare), or again (after 2 s) when it lacks
 * a metric the page has live points of: a page opened as the hub starts reads the list before the collector's first
 * samples.
 */
async function knownMetrics(
  http: { series(): Promise<{ series: { metric: string }[] }> },
  wanted: readonly string[],
): Promise<Set<string>> {
  const age = known ? Date.now() - known.at : Number.POSITIVE_INFINITY;
  if (known && age <= 60_000 && age > 2000) {
    const names = await known.metrics.catch(() => new Set<string>());
    if (wanted.some((m) => !names.has(m))) known = undefined;
  }
  if (!known || Date.now() - known.at > 60_000) {
    const metrics = http.series().then((r) => new Set(r.series.map((s) => s.metric)));
    metrics.catch(() => {
      known = undefined;
    });
    known = { at: Date.now(), metrics };
  }
  return known.metrics;
}

export function rangeKey(range: TimeRange): string {
  return range.live ? `live:${range.span}` : `${range.from}-${range.to}`;
}

export interface RangeHistory {
  /** Bumped each time answers land in the store, so that charts redraw as their data arrives. */
  version: number;
  /** The key of the range whose `first` metrics' history is in the store (the chart the page draws first). */
  firstReady: string | undefined;
  /** The key of the range whose whole history is in the store. */
  ready: string | undefined;
}

export function useRangeHistory(
  store: SeriesStore,
  queries: readonly HistoryQuery[],
  range: TimeRange,
  widthPx: number,
  first: readonly string[] = [],
): RangeHistory {
  const { http } = useHub();
  const [state, setState] = useState<RangeHistory>({ version: 0, firstReady: undefined, ready: undefined });
  const key = rangeKey(range);
  useEffect(() => {
    let active = true;
    const load = async () => {
      const [from, to] = windowOf(range);
      const step = stepFor(from, to, widthPx);
      // Only metrics the hub has: a query of a missing one is a 404, which a browser logs as an error.
      // A metric with live points here that the list lacks means the list predates it.
      const known = await knownMetrics(
        http,
        queries.map((q) => q.metric).filter((m) => store.select(m).length > 0),
      );
      if (!active) return;
      // The first chart's queries go out first; each answer is drawn as it lands, as a dashboard's panels do.
      const wanted = queries
        .filter((q) => known.has(q.metric))
        .sort((a, b) => Number(first.includes(b.metric)) - Number(first.includes(a.metric)));
      let firstLeft = wanted.filter((q) => first.includes(q.metric)).length;
      const landed = (q: HistoryQuery) => {
        if (!active) return;
        if (first.includes(q.metric)) firstLeft--;
        setState((s) => ({
          version: s.version + 1,
          firstReady: firstLeft === 0 ? key : s.firstReady,
          ready: s.ready,
        }));
      };
      await Promise.allSettled(
        wanted.map((q) =>
          http
            .query(q.metric, { from: Math.floor(from), to: Math.ceil(to), step, labels: q.labels })
            .then((r) => {
              if (active) store.setHistory(r);
            })
            .finally(() => landed(q)),
        ),
      );
      if (!active) return;
      setState((s) => ({ version: s.version + 1, firstReady: key, ready: key }));
    };
    void load();
    const refresh = range.live && range.spanMs > 3_600_000 ? setInterval(load, 60_000) : undefined;
    return () => {
      active = false;
      if (refresh) clearInterval(refresh);
    };
  }, [key, store]);
  return state;
}
