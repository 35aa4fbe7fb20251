/**
 * @module sparkline
 * A small SVG line of the recent values of one series, for the stat tiles.
 */

export function Sparkline({ values }: { values: readonly (number | null)[] }) {
  const pts = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (pts.length < 2) return <svg class="sparkline" viewBox="0 0 100 24" aria-hidden="true" />;
  let min = Math.min(...pts);
  let max = Math.max(...pts);
  if (max === min) {
    max += 1;
    min -= 1;
  }
  const step = 100 / (pts.length - 1);
  const d = pts.map(
    (v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(22 - ((v - min) / (max - min)) * 20).toFixed(1)}`,
  );
  return (
    <svg class="sparkline" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
      <path d={d.join('')} vector-effect="non-scaling-stroke" />
    </svg>
  );
}
