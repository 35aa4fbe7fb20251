/**
 * @module chart-theme
 * Colours the charts draw with: a series palette that reads on both themes, and the axis and grid colours of the
 * current theme, resolved from the CSS custom properties so that charts and page agree.
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

/** The theme's chart colours, resolved (a canvas cannot draw `light-dark()` or `var()`). */
export function chartColors(): ChartColors {
  const probe = document.createElement('span');
  probe.hidden = true;
  document.body.append(probe);
  const resolve = (name: string, fallback: string) => {
    probe.style.color = fallback;
    probe.style.color = `var(${name})`;
    return getComputedStyle(probe).color || fallback;
  };
  const colors = {
    axis: resolve('--chart-axis', '#8b949e'),
    grid: resolve('--chart-grid', 'rgba(128,128,128,0.15)'),
    text: resolve('--text-muted', '#8b949e'),
    band: resolve('--chart-band', 'rgba(229,83,75,0.18)'),
    anomaly: resolve('--chart-anomaly', '#e5534b'),
  };
  probe.remove();
  return colors;
}

/** A translucent version of a `#rrggbb` colour. */
export function alpha(hex: string, a: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}
