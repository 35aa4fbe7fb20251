/**
 * @module tail-view
 * Live tail: the channel list (subscribers, offset, rate), a pattern and an optional filter (JSON, checked here and
 * by the hub), and the events as they stream, newest first, with pause, clear, gap markers and a pretty JSON view
 * of the selected event. The list is capped and virtualised: only the rows in view are in the DOM. Publishing to
 * an application channel is offered when the credential holds `publish`.
 */
import type { Filter } from '@vigil/protocol';
import { isValidPattern } from '@vigil/protocol';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatNumber, formatTime } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';
import { setParams, useRoute } from '../../lib/router.js';
import { ChannelList } from './channel-list.js';
import { PublishForm } from './publish-form.js';
import { TailBuffer, type TailRow } from './tail-buffer.js';

const ROW_H = 26;

/** Parses a filter typed by the user; an error names what is wrong. */
export function parseFilter(text: string): { filter?: Filter; error?: string } {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `The filter is not valid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: 'The filter must be a JSON object' };
  const allowed = ['kinds', 'ids', 'min_severity', 'states', 'labels'];
  const extra = Object.keys(value).find((k) => !allowed.includes(k));
  if (extra) return { error: `Unknown filter field '${extra}' (use ${allowed.join(', ')})` };
  return { filter: value as Filter };
}

export function TailView(_props: { subpath: string }) {
  const { client, perms } = useHub();
  const { params } = useRoute();
  const pattern = params.get('pattern') ?? '';
  const filterText = params.get('filter') ?? '';
  const [patternInput, setPatternInput] = useState(pattern || '>');
  const [filterInput, setFilterInput] = useState(filterText);
  const [formError, setFormError] = useState('');
  const parsed = useMemo(() => parseFilter(filterText), [filterText]);

  const [buffer, setBuffer] = useState<TailBuffer | null>(null);
  const [, setFrame] = useState(0);
  useEffect(() => {
    if (!pattern || !isValidPattern(pattern) || parsed.error) {
      setBuffer(null);
      return;
    }
    const b = new TailBuffer(client, pattern, parsed.filter);
    setBuffer(b);
    const off = b.onChange(() => {
      b.flush();
      setFrame((n) => n + 1);
    });
    return () => {
      off();
      b.close();
    };
  }, [client, pattern, filterText]);

  const start = (ev: Event) => {
    ev.preventDefault();
    const p = patternInput.trim();
    if (!isValidPattern(p)) {
      setFormError(
        `'${p}' is not a channel pattern: segments of letters, digits, _ : - joined by dots; * for one segment, > at the end for the rest`,
      );
      return;
    }
    const f = parseFilter(filterInput);
    if (f.error) {
      setFormError(f.error);
      return;
    }
    setFormError('');
    setParams({ pattern: p, filter: filterInput.trim() || undefined });
  };

  const [selected, setSelected] = useState<TailRow | null>(null);
  const publishDenied = perms.denied('publish');

  return (
    <div class="view tail">
      <h1>Live tail</h1>
      <div class="tail-layout">
        <div class="tail-main">
          <form class="tail-form" onSubmit={start} aria-label="Subscription">
            <div class="field">
              <label for="tail-pattern">Pattern</label>
              <input
                id="tail-pattern"
                value={patternInput}
                onInput={(e) => setPatternInput(e.currentTarget.value)}
                placeholder="orders.> or metrics.app.*"
                data-testid="tail-pattern"
              />
            </div>
            <div class="field grow">
              <label for="tail-filter">Filter (JSON, optional)</label>
              <input
                id="tail-filter"
                class="mono"
                value={filterInput}
                onInput={(e) => setFilterInput(e.currentTarget.value)}
                placeholder='{"kinds":["alert"],"min_severity":"error"}'
                aria-invalid={
                  formError.startsWith('The filter') || formError.startsWith('Unknown filter') ? true : undefined
                }
                data-testid="tail-filter"
              />
            </div>
            <button type="submit" class="btn primary" data-testid="tail-start">
              {pattern ? 'Apply' : 'Start'}
            </button>
          </form>
          {(formError || parsed.error || buffer?.error) && (
            <p class="field-error" role="alert" data-testid="tail-error">
              {formError || parsed.error || buffer?.error}
            </p>
          )}
          {buffer && (
            <div class="tail-toolbar">
              <span class="muted" data-testid="tail-count" data-received={buffer.received}>
                {formatNumber(buffer.received)} events on <code>{pattern}</code>
                {buffer.paused &&
                  buffer.droppedWhilePaused > 0 &&
                  `, ${formatNumber(buffer.droppedWhilePaused)} skipped while paused`}
              </span>
              <span class="spacer" />
              <button
                type="button"
                class="btn small"
                aria-pressed={buffer.paused}
                data-testid="tail-pause"
                onClick={() => {
                  buffer.paused = !buffer.paused;
                  setFrame((n) => n + 1);
                }}
              >
                {buffer.paused ? '▶ Resume' : '❚❚ Pause'}
              </button>
              <button
                type="button"
                class="btn small"
                onClick={() => {
                  buffer.clear();
                  setSelected(null);
                }}
              >
                Clear
              </button>
            </div>
          )}
          {buffer ? (
            <EventList rows={buffer.rows} selected={selected} onSelect={setSelected} />
          ) : (
            <p class="empty">
              Pick a pattern (<code>&gt;</code> is every channel) and start.
            </p>
          )}
          {selected && (
            <section class="card json-view" aria-label="Selected event">
              <div class="view-head">
                <h2>{selected.type === 'event' ? `${selected.event.channel} #${selected.event.offset}` : 'Gap'}</h2>
                <button type="button" class="btn ghost small" onClick={() => setSelected(null)}>
                  Close
                </button>
              </div>
              <pre class="json" data-testid="event-json">
                {JSON.stringify(selected.type === 'event' ? selected.event : selected.gap, null, 2)}
              </pre>
            </section>
          )}
        </div>
        <aside class="tail-side">
          <ChannelList onPick={setPatternInput} />
          <PublishForm denied={publishDenied} />
        </aside>
      </div>
    </div>
  );
}

function EventList(props: { rows: TailRow[]; selected: TailRow | null; onSelect: (r: TailRow) => void }) {
  const box = useRef<HTMLElement>(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(480);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const { rows } = props;
  const first = Math.max(0, Math.floor(scroll / ROW_H) - 5);
  const last = Math.min(rows.length, Math.ceil((scroll + height) / ROW_H) + 5);
  const visible = rows.slice(first, last);
  return (
    <section
      class="event-list"
      ref={box}
      onScroll={(e) => setScroll(e.currentTarget.scrollTop)}
      aria-label="Events, newest first"
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled from the keyboard
      tabIndex={0}
      data-testid="event-list"
      data-rows={rows.length}
    >
      <ul class="event-spacer" style={{ height: `${rows.length * ROW_H}px` }}>
        {visible.map((r, i) => {
          const top = (first + i) * ROW_H;
          if (r.type === 'gap') {
            return (
              <li key={r.id} class="event-row gap-row" style={{ top: `${top}px` }} data-testid="gap-row">
                ⚠ gap on <code>{r.gap.channel}</code>: {r.gap.reason.replace('_', ' ')}
                {r.gap.reason === 'epoch_changed'
                  ? ' (the hub restarted: offsets start again)'
                  : `, offsets ${r.gap.from}–${r.gap.to} will not arrive`}
              </li>
            );
          }
          const e = r.event;
          return (
            <li key={r.id} class="event-row" style={{ top: `${top}px` }}>
              <button
                type="button"
                class={`event-btn ${props.selected?.id === r.id ? 'selected' : ''}`}
                onClick={() => props.onSelect(r)}
                data-testid="event-row"
                data-offset={e.offset}
                data-channel={e.channel}
              >
                <span class="ev-time">{formatTime(e.ts)}</span>
                <span class="ev-channel">{e.channel}</span>
                <span class="ev-offset">#{e.offset}</span>
                <span class="ev-kind">{e.kind}</span>
                <span class="ev-data">{preview(e.data)}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function preview(data: unknown): string {
  const text = JSON.stringify(data) ?? 'undefined';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
