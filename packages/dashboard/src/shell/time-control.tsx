/**
 * @module time-control
 * The global time control: Live over the last 5 m … 7 d, or an absolute range (from a drag-zoom or typed in), and
 * pause/resume of a live view. It only changes the URL; every chart on the page follows the URL.
 */
import { useState } from 'preact/hooks';
import { formatDateTime } from '../lib/format.js';
import { setParams } from '../lib/router.js';
import { goLive, LIVE_SPANS, useTimeRange, zoomTo } from '../lib/time-range.js';

function toLocalInput(ts: number): string {
  const d = new Date(ts - new Date(ts).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function TimeControl() {
  const range = useTimeRange();
  const [editing, setEditing] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState('');

  const openAbsolute = () => {
    const now = Date.now();
    const [f, t] = range.live ? [now - range.spanMs, now] : [range.from, range.to];
    setFrom(toLocalInput(f));
    setTo(toLocalInput(t));
    setError('');
    setEditing(true);
  };
  const apply = (ev: Event) => {
    ev.preventDefault();
    const f = new Date(from).getTime();
    const t = new Date(to).getTime();
    if (!Number.isFinite(f) || !Number.isFinite(t) || t <= f) {
      setError('The end must come after the start');
      return;
    }
    setEditing(false);
    zoomTo(f, t);
  };

  return (
    <fieldset class="time-control">
      <legend class="sr-only">Time range</legend>
      <span class="tc-label">{range.live ? (range.paused ? 'Paused' : 'Live') : 'Range'}</span>
      <fieldset class="segmented">
        <legend class="sr-only">Live window</legend>
        {LIVE_SPANS.map(([label]) => (
          <button
            type="button"
            key={label}
            class={range.live && range.span === label ? 'active' : ''}
            aria-pressed={range.live && range.span === label}
            data-testid={`range-${label}`}
            onClick={() => goLive(label)}
          >
            {label}
          </button>
        ))}
      </fieldset>
      {range.live ? (
        <button
          type="button"
          class="btn"
          data-testid="pause"
          aria-pressed={range.paused}
          onClick={() => setParams({ paused: range.paused ? undefined : '1' })}
        >
          {range.paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
      ) : (
        <>
          <span class="tc-range" data-testid="absolute-range">
            {formatDateTime(range.from)} → {formatDateTime(range.to)}
          </span>
          <button type="button" class="btn" data-testid="back-to-live" onClick={() => goLive(range.span)}>
            Back to live
          </button>
        </>
      )}
      <button
        type="button"
        class="btn ghost"
        aria-expanded={editing}
        onClick={() => (editing ? setEditing(false) : openAbsolute())}
      >
        Absolute…
      </button>
      {editing && (
        <form class="tc-form" onSubmit={apply}>
          <label>
            From <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required />
          </label>
          <label>
            To <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
          </label>
          <button type="submit" class="btn primary">
            Apply
          </button>
          {error && (
            <span class="field-error" role="alert">
              {error}
            </span>
          )}
        </form>
      )}
    </fieldset>
  );
}
