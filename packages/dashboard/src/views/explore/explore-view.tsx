/**
 * @module explore-view
 * The metrics explorer: a metric picked by name (typeahead from the series list), label filter chips built from its
 * series' labels, an aggregation, and one chart of the matching series following the global time range, with a
 * legend table (current, min, max, avg; click to hide), the window statistics from the hub, anomaly points
 * (|z| ≥ 2.5) on the lines, and the alert firings of rules on this metric as shaded spans. Everything is in the URL.
 */
import type { RangeAgg } from '@vigil/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { color } from '../../charts/chart-theme.js';
import { align } from '../../charts/series-store.js';
import { TimeChart } from '../../charts/time-chart.js';
import { formatLabels, formatNumber } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';
import { setParams, useRoute } from '../../lib/router.js';
import { goLive, stepFor, useTimeRange, windowOf, zoomTo } from '../../lib/time-range.js';
import { useAsync } from '../../lib/use-async.js';
import { useNow } from '../../lib/use-now.js';
import { anomalies, summarise } from './window-stats.js';

const AGGS: RangeAgg[] = ['avg', 'min', 'max', 'sum', 'count', 'last', 'rate', 'p95'];
const STATS_WINDOWS: [string, number][] = [
  ['1m', 60_000],
  ['5m', 300_000],
  ['15m', 900_000],
  ['1h', 3_600_000],
];

/** `k=v,k2=v2` ↔ an object. */
export function parseLabels(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function formatLabelParam(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function ExploreView(_props: { subpath: string }) {
  const { http } = useHub();
  const { params } = useRoute();
  const metric = params.get('metric') ?? '';
  const labels = parseLabels(params.get('labels'));
  const labelsKey = params.get('labels') ?? '';
  const agg = (AGGS as string[]).includes(params.get('agg') ?? '') ? (params.get('agg') as RangeAgg) : 'avg';
  const range = useTimeRange();
  const [text, setText] = useState(metric);
  useEffect(() => setText(metric), [metric]);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());

  const all = useAsync(() => http.series(), []);
  const names = useMemo(() => [...new Set((all.value?.series ?? []).map((s) => s.metric))].sort(), [all.value]);
  const labelChoices = useMemo(() => {
    const map = new Map<string, Set<string>>();
    for (const s of all.value?.series ?? []) {
      if (s.metric !== metric) continue;
      for (const [k, v] of Object.entries(s.labels)) {
        if (!map.has(k)) map.set(k, new Set());
        map.get(k)!.add(v);
      }
    }
    return [...map.entries()].map(([k, vs]) => [k, [...vs].sort()] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }, [all.value, metric]);

  // Live ranges refetch every 5 s; fixed ranges once.
  const tick = useNow(range.live && !range.paused ? 5000 : 3_600_000);
  const [from, to] = windowOf(range, tick);
  const width = Math.max(400, innerWidth - 300);
  const data = useAsync(async () => {
    if (!metric || !names.includes(metric)) return undefined;
    const step = stepFor(from, to, width);
    const [q, rules, history] = await Promise.all([
      http.query(metric, { from: Math.floor(from), to: Math.ceil(to), step, agg, labels }),
      http.rules().catch(() => ({ rules: [] })),
      http.alerts({ since: Math.floor(from), limit: 1000 }).catch(() => ({ alerts: [] })),
    ]);
    const ruleNames = new Set(rules.rules.filter((r) => r.metric === metric).map((r) => r.name));
    const spans = history.alerts
      .filter((a) => ruleNames.has(a.rule) && a.status !== 'pending')
      .filter((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v))
      .map((a) => [a.starts_at, a.ends_at ?? Date.now()] as const);
    return { q, spans };
  }, [metric, labelsKey, agg, from, to, names.length]);
  const spanMs = to - from;
  const statsWindow = (STATS_WINDOWS.find(([, ms]) => ms >= spanMs) ?? STATS_WINDOWS[3]!)[0];
  const stats = useAsync(
    async () => (metric && names.includes(metric) ? http.metricStats(metric, statsWindow, labels) : undefined),
    [metric, labelsKey, statsWindow, names.length, range.live ? tick : 0],
  );

  const built = useMemo(() => {
    const q = data.value?.q;
    if (!q) return undefined;
    const series = q.series.map((s, i) => ({
      key: formatLabels(s.labels) || metric,
      labels: s.labels,
      color: color(i),
      ts: s.points.map((p) => p[0]),
      val: s.points.map((p) => p[1]),
    }));
    const aligned = align(series.map((s) => ({ ts: s.ts, val: s.val })));
    const points = series.flatMap((s) => (hidden.has(s.key) ? [] : anomalies(s.ts, s.val)));
    return { series, aligned, points, tier: q.tier, step: q.step };
  }, [data.value, hidden, metric]);

  const pick = (ev: Event) => {
    ev.preventDefault();
    if (names.includes(text)) setParams({ metric: text, labels: undefined });
  };
  const toggleLabel = (k: string, v: string) => {
    const next = { ...labels };
    if (next[k] === v) delete next[k];
    else next[k] = v;
    setParams({ labels: formatLabelParam(next) || undefined });
  };

  return (
    <div class="view explore">
      <h1>Metrics</h1>
      <form class="explore-bar" onSubmit={pick} aria-label="Metric">
        <label for="metric-search">Metric</label>
        <input
          id="metric-search"
          list="metric-names"
          value={text}
          placeholder="Search metric names"
          autoComplete="off"
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            if (names.includes(v)) setParams({ metric: v, labels: undefined });
          }}
          data-testid="metric-search"
        />
        <datalist id="metric-names">
          {names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <label for="agg">Aggregation</label>
        <select
          id="agg"
          value={agg}
          onChange={(e) => setParams({ agg: e.currentTarget.value === 'avg' ? undefined : e.currentTarget.value })}
        >
          {AGGS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </form>
      {metric && labelChoices.length > 0 && (
        <fieldset class="chips">
          <legend class="sr-only">Label filters</legend>
          {labelChoices.map(([k, values]) =>
            values.slice(0, 40).map((v) => (
              <button
                type="button"
                key={`${k}=${v}`}
                class={`chip ${labels[k] === v ? 'on' : ''}`}
                aria-pressed={labels[k] === v}
                onClick={() => toggleLabel(k, v)}
              >
                {k}={v}
              </button>
            )),
          )}
        </fieldset>
      )}
      {!metric && <p class="empty">Pick a metric to chart it. {names.length} metrics are known to the hub.</p>}
      {metric && !all.loading && !names.includes(metric) && <p class="empty">The hub has no metric named {metric}.</p>}
      {data.error && (
        <p class="field-error" role="alert">
          {data.error.message}
        </p>
      )}
      {built && (
        <div class="card">
          <TimeChart
            title={`${metric} (${agg}, step ${built.step / 1000}s, ${built.tier})`}
            testId="explore-chart"
            series={built.series.map((s) => ({ label: s.key, color: s.color, hidden: hidden.has(s.key) }))}
            data={built.aligned}
            window={[from, to]}
            format={(v) => formatNumber(v)}
            height={300}
            legend={false}
            marks={{ spans: data.value?.spans, points: built.points }}
            onZoom={zoomTo}
            onReset={() => goLive(range.span)}
          />
          <table class="table legend-table" data-testid="legend-table">
            <thead>
              <tr>
                <th scope="col">Series</th>
                <th scope="col" class="num">
                  Current
                </th>
                <th scope="col" class="num">
                  Min
                </th>
                <th scope="col" class="num">
                  Max
                </th>
                <th scope="col" class="num">
                  Avg
                </th>
              </tr>
            </thead>
            <tbody>
              {built.series.map((s) => {
                const sum = summarise(s.val);
                const off = hidden.has(s.key);
                return (
                  <tr key={s.key} class={off ? 'off' : ''}>
                    <td>
                      <button
                        type="button"
                        class="legend-toggle"
                        aria-pressed={!off}
                        title={off ? 'Show this series' : 'Hide this series'}
                        onClick={() => {
                          const next = new Set(hidden);
                          if (off) next.delete(s.key);
                          else next.add(s.key);
                          setHidden(next);
                        }}
                      >
                        <span class="swatch" style={{ background: s.color }} aria-hidden="true" />
                        {s.key}
                      </button>
                    </td>
                    <td class="num">{formatNumber(sum.current)}</td>
                    <td class="num">{formatNumber(sum.min)}</td>
                    <td class="num">{formatNumber(sum.max)}</td>
                    <td class="num">{formatNumber(sum.avg)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p class="muted small">
            {built.points.length} anomaly point{built.points.length === 1 ? '' : 's'} (|z| ≥ 2.5) marked on the lines;
            shaded spans are alert firings of rules on this metric.
          </p>
        </div>
      )}
      {stats.value && stats.value.series.length > 0 && (
        <section aria-label="Window statistics">
          <h2>Window statistics (last {statsWindow})</h2>
          <table class="table" data-testid="window-stats">
            <thead>
              <tr>
                <th scope="col">Series</th>
                {['count', 'min', 'max', 'avg', 'median', 'stddev', 'p95', 'trend/s'].map((h) => (
                  <th scope="col" class="num" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {stats.value.series.map((s) => (
                <tr key={formatLabels(s.labels)}>
                  <td>{formatLabels(s.labels) || metric}</td>
                  <td class="num">{s.count}</td>
                  <td class="num">{formatNumber(s.min)}</td>
                  <td class="num">{formatNumber(s.max)}</td>
                  <td class="num">{formatNumber(s.avg)}</td>
                  <td class="num">{formatNumber(s.median)}</td>
                  <td class="num">{formatNumber(s.stddev)}</td>
                  <td class="num">{formatNumber(s.p95)}</td>
                  <td class="num">{formatNumber(s.trend, 3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
