/**
 * @module format
 * Numbers, bytes, rates, durations and times as the dashboard shows them.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  let n = Math.abs(v);
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${v < 0 ? '-' : ''}${n.toFixed(i === 0 ? 0 : digits)} ${UNITS[i]}`;
}

export function formatNumber(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : digits);
}

export function formatPercent(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(v >= 10 ? 0 : 1)}%`;
}

/** `3m 12s`, `2h 05m`, `4d 3h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// One formatter each, made once: `toLocaleTimeString` builds a new one per call, which the Live tail (a row per
// event, 1,000 a second) and every chart axis would pay each time.
const TIME = new Intl.DateTimeFormat(undefined, {
  hour12: false,
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});
const HOUR_MINUTE = new Intl.DateTimeFormat(undefined, { hour12: false, hour: '2-digit', minute: '2-digit' });
const DAY = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** The time of day with seconds (`13:35:33`). */
export function formatTime(ts: number): string {
  return TIME.format(ts);
}

/** The time of day without seconds (`13:35`). */
export function formatHourMinute(ts: number): string {
  return HOUR_MINUTE.format(ts);
}

/** The day of the month (`Nov 29`). */
export function formatDay(ts: number): string {
  return DAY.format(ts);
}

export function formatDateTime(ts: number): string {
  return `${DAY.format(ts)} ${TIME.format(ts)}`;
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** A series key: `metric{a="1",b="2"}` with labels sorted. */
export function seriesKey(metric: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? metric : `${metric}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}
