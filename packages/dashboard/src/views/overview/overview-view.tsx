/**
 * @module overview-view
 * The Overview: stat tiles and live host charts, one point a second from `metrics.system.>` and `metrics.process.>`
 * (no polling). Every chart follows the global time range; a drag-selection on any chart zooms them all (the range
 * API answers at a step fitted to the width), and a double-click returns to live.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { color } from '../../charts/chart-theme.js';
import { align, type Column, columnOf, type SeriesStore } from '../../charts/series-store.js';
import { Sparkline } from '../../charts/sparkline.js';
import { type ChartSeries, TimeChart } from '../../charts/time-chart.js';
import { useHostStore } from '../../lib/host-store.js';
import { useOwnHost } from '../../lib/own-host.js';
import { goLive, type TimeRange, useTimeRange, windowOf, zoomTo } from '../../lib/time-range.js';
import { useNow } from '../../lib/use-now.js';
import {
  type ChartDef,
  CORE_LINE,
  HOST_CHARTS,
  HOST_TILES,
  historyQueries,
  type LineDef,
  type TileDef,
} from './host-charts.js';
import { rangeKey, useRangeHistory } from './live-history.js';

const QUERIES = historyQueries();
/**
 * The labels of the connected node's own series: unlabelled on a single node (an empty value matches none: agents'
 * carry a `host` label and have the Fleet view), `host=<its host id>` on a cluster node.
 */
function ownLabels(own: string | undefined): { host: string } {
  return { host: own ?? '' };
}
/** The CPU chart's metrics: its history is fetched first. */
const CPU_METRICS = HOST_CHARTS.find((c) => c.id === 'cpu')?.lines.map((l) => l.metric) ?? [];

/** Re-renders on each batch of live points, unless the view is paused or fixed. */
export function useStoreVersion(store: SeriesStore, follow: boolean): number {
  const [version, setVersion] = useState(store.version);
  useEffect(() => {
    if (!follow) return;
    setVersion(store.version);
    return store.onChange(() => setVersion(store.version));
  }, [store, follow]);
  return version;
}

export interface Built {
  series: ChartSeries[];
  data: [number[], ...(number | null)[][]];
}

export function build(
  store: SeriesStore,
  lines: LineDef[],
  win: [number, number],
  live: boolean,
  labels?: Record<string, string>,
): Built {
  const series: ChartSeries[] = [];
  const columns: Column[] = [];
  for (const line of lines) {
    for (const s of store.select(line.metric, { ...line.labels, ...labels })) {
      series.push({ label: line.label(s.labels), color: color(series.length), fill: line.fill });
      columns.push(columnOf(s, win[0], win[1], live));
    }
  }
  return { series, data: columns.length === 0 ? [[]] : align(columns) };
}

function mark(name: string): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

export function OverviewView() {
  const store = useHostStore();
  const OWN = ownLabels(useOwnHost());
  const range = useTimeRange();
  const follow = range.live && !range.paused;
  const version = useStoreVersion(store, follow);
  const chartWidth = Math.max(300, Math.floor((innerWidth - 260) / 2));
  const history = useRangeHistory(store, QUERIES, range, chartWidth, CPU_METRICS);
  // Live, each batch of points re-renders and moves the window; the slow tick only keeps it moving when no point
  // arrives. Paused, the window stays where it was.
  useNow(follow ? 5000 : 3_600_000);
  const frozenAt = useRef(Date.now());
  if (follow) frozenAt.current = Date.now();
  const win = windowOf(range, frozenAt.current);
  const key = rangeKey(range);

  const charts = useMemo(
    () => HOST_CHARTS.map((def) => ({ def, built: build(store, def.lines, win, range.live, OWN) })),
    [store, version, win[0], win[1], history.version, range.live, OWN.host],
  );
  const cores = useMemo(() => {
    const list = store
      .select(CORE_LINE.metric, OWN)
      .filter((s) => s.labels.cpu !== 'total')
      .sort((a, b) => Number(a.labels.cpu) - Number(b.labels.cpu));
    return list.map((s) => ({
      cpu: s.labels.cpu!,
      built: build(store, [CORE_LINE], win, range.live, { ...OWN, cpu: s.labels.cpu! }),
    }));
  }, [store, version, win[0], win[1], history.version, range.live, OWN.host]);

  const onZoom = zoomTo;
  const onReset = () => goLive(range.span);
  const onCpuDraw = () => {
    if (store.firstLive.has('system.cpu.user')) mark('vigil:first-live-cpu');
    if (history.firstReady === key) mark(`vigil:range-drawn:${key}`);
  };

  return (
    <div class="view overview">
      <h1 class="sr-only">Overview</h1>
      <section class="tiles" aria-label="Current values">
        {HOST_TILES.map((t) => (
          <StatTile key={t.id} tile={t} store={store} version={version} own={OWN} />
        ))}
      </section>
      {charts.every((c) => c.built.series.length === 0) && (
        <p class="empty">
          Waiting for host metrics. The hub collects them every second on Linux (<code>metrics.collect_interval</code>).
        </p>
      )}
      <section class="chart-grid" aria-label="Host charts">
        {charts.map(({ def, built }) =>
          built.series.length === 0 ? null : (
            <ChartCard
              key={def.id}
              def={def}
              built={built}
              win={win}
              onZoom={onZoom}
              onReset={onReset}
              onDraw={def.id === 'cpu' ? onCpuDraw : undefined}
              range={range}
            />
          ),
        )}
      </section>
      {cores.length > 0 && (
        <section class="cores" aria-label="CPU per core">
          <h2>CPU per core</h2>
          <div class="core-grid">
            {cores.map(({ cpu, built }) => (
              <TimeChart
                key={cpu}
                title={`core ${cpu}`}
                series={built.series}
                data={built.data}
                window={win}
                format={(v) => `${v.toFixed(0)}%`}
                yRange={[0, 100]}
                height={90}
                legend={false}
                onZoom={onZoom}
                onReset={onReset}
              />
            ))}
          </div>
        </section>
      )}
    </div>
  );
}

export function ChartCard(props: {
  def: ChartDef;
  built: Built;
  win: [number, number];
  range: TimeRange;
  onZoom: (a: number, b: number) => void;
  onReset: () => void;
  onDraw?: () => void;
}) {
  const { def, built } = props;
  return (
    <div class="card">
      <TimeChart
        title={def.title}
        testId={`chart-${def.id}`}
        series={built.series}
        data={built.data}
        window={props.win}
        format={def.format}
        yRange={def.yRange}
        onZoom={props.onZoom}
        onReset={props.onReset}
        onDraw={props.onDraw}
      />
    </div>
  );
}

/** A formatted value with its unit (`302.1 KiB/s`) set smaller, so that a tile's value keeps to one line. */
function TileValue({ text }: { text: string }) {
  const space = text.lastIndexOf(' ');
  if (space <= 0) return <>{text}</>;
  return (
    <>
      {text.slice(0, space)}
      <span class="tile-unit"> {text.slice(space + 1)}</span>
    </>
  );
}

function StatTile({ tile, store, own }: { tile: TileDef; store: SeriesStore; version: number; own: { host: string } }) {
  const series = store.select(tile.metric, { ...tile.labels, ...own });
  let values: (number | null)[] = [];
  if (tile.sum && series.length > 0) {
    const n = Math.min(...series.map((s) => s.live.val.length), 60);
    for (let i = n; i > 0; i--) {
      let sum = 0;
      for (const s of series) sum += s.live.val[s.live.val.length - i] ?? 0;
      values.push(sum);
    }
  } else if (!tile.sum && series[0]) {
    const src = series[0].live.val.length > 0 ? series[0].live.val : series[0].history.val;
    values = src.slice(-60);
  }
  const current = values.length > 0 ? values[values.length - 1] : null;
  return (
    <div class="tile" data-testid={`tile-${tile.id}`}>
      <div class="tile-title">{tile.title}</div>
      <div class="tile-value">
        {current === null || current === undefined ? '–' : <TileValue text={tile.format(current)} />}
      </div>
      <Sparkline values={values} />
    </div>
  );
}
