/**
 * @module time-chart
 * One uPlot time chart as a Preact component. Every chart of the page shares the cursor (`sync` key), follows the
 * window it is given, and reports a drag-selection as a zoom and a double-click as a return to live; the page turns
 * those into URL changes, so every chart follows. Data updates go through `setData` without rebuilding the chart;
 * a change of series (a new interface appears) or of theme rebuilds it.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDay, formatHourMinute, formatTime } from '../lib/format.js';
import { useTheme } from '../lib/theme.js';
import { alpha, chartColors } from './chart-theme.js';

export interface ChartSeries {
  label: string;
  color: string;
  fill?: boolean;
  /** Draw this series hidden (the legend table can hide series). */
  hidden?: boolean;
}

export interface ChartMarks {
  /** Shaded spans (alert firings), `[from, to]` in ms. */
  spans?: readonly (readonly [number, number])[];
  /** Points drawn as dots on the line (anomalies), `[ts, value]`. */
  points?: readonly (readonly [number, number])[];
}

export interface TimeChartProps {
  title: string;
  series: ChartSeries[];
  data: uPlot.AlignedData;
  /** The x range, ms. */
  window: readonly [number, number];
  format: (v: number) => string;
  height?: number;
  /** Fixed y range (percentages: [0, 100]). */
  yRange?: readonly [number, number];
  legend?: boolean;
  marks?: ChartMarks;
  onZoom?: (from: number, to: number) => void;
  onReset?: () => void;
  /** Called after each draw (the bench marks draws with it). */
  onDraw?: () => void;
  testId?: string;
}

const SYNC_KEY = 'vigil';

export function TimeChart(props: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const theme = useTheme();
  const shape = `${props.series.map((s) => `${s.label}|${s.color}|${s.fill}`).join(';')}|${props.legend}|${props.height}|${props.yRange}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const c = chartColors();
    const p = latest.current;
    const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
      stroke: c.axis,
      grid: { stroke: c.grid, width: 1 },
      ticks: { stroke: c.grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
      ...extra,
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: p.height ?? 180,
      ms: 1,
      pxAlign: 0,
      legend: { show: p.legend ?? true, live: true },
      cursor: {
        sync: { key: SYNC_KEY, setSeries: false },
        drag: { x: true, y: false, setScale: false, dist: 5 },
        points: { size: 6 },
      },
      scales: {
        x: { time: true, auto: false, range: () => [latest.current.window[0], latest.current.window[1]] },
        y: p.yRange ? { auto: false, range: () => [p.yRange![0], p.yRange![1]] } : { auto: true },
      },
      axes: [
        axis({ size: 28, space: 80, values: (_u, ticks) => ticks.map((v) => timeTick(v, latest.current.window)) }),
        axis({
          // Wide enough for the longest label ("305.4 MiB/s"), so that none is cut off.
          size: (_u, values) => 14 + 6.5 * Math.max(4, ...(values ?? []).map((v) => String(v).length)),
          values: (_u, ticks) => ticks.map((v) => latest.current.format(v)),
        }),
      ],
      series: [
        { value: (_u, v) => (v === null ? '–' : formatTime(v)) },
        ...p.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            fill: s.fill ? alpha(s.color, 0.12) : undefined,
            spanGaps: true,
            show: !s.hidden,
            points: { show: false },
            value: (_u, v) => (v === null || v === undefined ? '–' : latest.current.format(v)),
          }),
        ),
      ],
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width > 5) latest.current.onZoom?.(u.posToVal(left, 'x'), u.posToVal(left + width, 'x'));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        setCursor: [legendAtLatest],
        drawClear: [(u) => drawSpans(u, latest.current.marks?.spans, c.band)],
        draw: [
          (u) => {
            drawPoints(u, latest.current.marks?.points, c.anomaly);
            latest.current.onDraw?.();
          },
        ],
      },
    };
    const u = new uPlot(opts, p.data, el);
    plot.current = u;
    const onDbl = () => latest.current.onReset?.();
    u.over.addEventListener('dblclick', onDbl);
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height: u.height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.over.removeEventListener('dblclick', onDbl);
      u.destroy();
      plot.current = null;
    };
  }, [shape, theme]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    props.series.forEach((s, i) => {
      const shown = u.series[i + 1]?.show;
      if (shown !== undefined && shown === !!s.hidden) u.setSeries(i + 1, { show: !s.hidden });
    });
    u.setData(props.data, true);
    legendAtLatest(u);
  });

  return (
    <figure class="chart" data-testid={props.testId} data-points={props.data[0].length} aria-label={props.title}>
      <figcaption class="chart-title">{props.title}</figcaption>
      <div class="chart-plot" ref={host} role="img" aria-label={`${props.title} chart`} />
    </figure>
  );
}

/**
 * With no cursor over the chart, the legend shows each series' latest value (and its time) rather than dashes, as
 * a live chart's reader expects; hovering shows the values under the cursor.
 */
function legendAtLatest(u: uPlot): void {
  if (u.cursor.idx !== null && u.cursor.idx !== undefined) return;
  const idxs: (number | null)[] = u.data.map((col) => {
    for (let j = col.length - 1; j >= 0; j--) if (col[j] !== null && col[j] !== undefined) return j;
    return null;
  });
  idxs[0] = idxs.slice(1).reduce<number | null>((m, i) => (i !== null && (m === null || i > m) ? i : m), null);
  u.setLegend({ idxs }, false);
}

/** An x-axis label: the time of day, with seconds for short windows and the date for windows over a day. */
export function timeTick(ts: number, window: readonly [number, number]): string {
  const span = window[1] - window[0];
  if (span <= 10 * 60_000) return formatTime(ts);
  if (span <= 24 * 3_600_000) return formatHourMinute(ts);
  return `${formatDay(ts)} ${formatHourMinute(ts)}`;
}

function drawSpans(u: uPlot, spans: ChartMarks['spans'], fill: string): void {
  if (!spans || spans.length === 0) return;
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  ctx.save();
  ctx.fillStyle = fill;
  for (const [from, to] of spans) {
    const x0 = Math.max(u.bbox.left, u.valToPos(from, 'x', true));
    const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(to, 'x', true));
    if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
  }
  ctx.restore();
}

function drawPoints(u: uPlot, points: ChartMarks['points'], fill: string): void {
  if (!points || points.length === 0) return;
  const ctx = u.ctx;
  const r = 4 * devicePixelRatio;
  ctx.save();
  ctx.fillStyle = fill;
  for (const [ts, v] of points) {
    const x = u.valToPos(ts, 'x', true);
    const y = u.valToPos(v, 'y', true);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}
