/**
 * @module chart-theme
 * Colours the charts draw with: a series palette that reads on both themes, and the axis and grid colours of the
 * current theme, taken from the CSS custom properties so that charts and page agree.
 */

/** Series colours (chosen for contrast on dark and light backgrounds alike). */
export const PALETTE = ['#3b8eea', '#e5a50a', '#26a269', '#e01b24', '#9141ac', '#1c9aa0', '#c061cb', '#865e3c'];

export const color = (i: number): string => PALETTE[i % PALETTE.length]!;

export interface ChartColors {
  axis: string;
  grid: string;
  text: string;
  band: string;
  anomaly: string;
}

export function chartColors(): ChartColors {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    axis: v('--chart-axis', '#8b949e'),
    grid: v('--chart-grid', 'rgba(128,128,128,0.15)'),
    text: v('--text-muted', '#8b949e'),
    band: v('--chart-band', 'rgba(229,83,75,0.18)'),
    anomaly: v('--chart-anomaly', '#e5534b'),
  };
}

/** A translucent version of a `#rrggbb` colour. */
export function alpha(hex: string, a: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}
