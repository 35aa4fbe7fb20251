/**
 * @module format
 * Small text helpers shared by the commands: durations (parse `1h30m`, print `2m05s`), label sets, clock times,
 * aligned tables and progress bars.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h30m`, `2d` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(n) * UNIT_MS[unit!]!;
  return total;
}

/** Seconds → `45s`, `3m05s`, `1h02m`, `2d03h`; `-` for null or negative. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** `{host="a",cpu="0"}` (Prometheus style, keys sorted); empty for no labels. */
export function formatLabels(labels: unknown): string {
  if (labels === null || typeof labels !== 'object') return '';
  const entries = Object.entries(labels as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}=${JSON.stringify(String(v))}`).join(',')}}`;
}

/** Local wall-clock time with milliseconds: `14:03:07.125`. */
export function clockTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** A number without float noise: up to 3 decimals, integers as they are. */
export function formatNumber(value: unknown): string {
  if (typeof value !== 'number') return value === null || value === undefined ? '-' : String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(3)));
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** `[#####-----]` for a fraction in 0..1 (clamped); blank dots when unknown. */
export function progressBar(fraction: number | null | undefined, width = 20): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return `[${'.'.repeat(width)}]`;
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what this strips.
const ANSI = /\x1b\[[0-9;]*m/g;

/** Display width of a string that may hold ANSI colour codes. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/**
 * Rows as aligned columns separated by two spaces. `paintRow` may colour a whole row after alignment, so that the
 * escape codes do not disturb the widths. The last column is not padded.
 */
export function table(
  header: readonly string[] | undefined,
  rows: readonly (readonly string[])[],
  paintRow?: (row: number, line: string) => string,
): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
  }
  const lines = all.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell))))
      .join('  ')
      .trimEnd(),
  );
  const offset = header ? 1 : 0;
  return lines.map((line, i) => (paintRow && i >= offset ? paintRow(i - offset, line) : line)).join('\n');
}
