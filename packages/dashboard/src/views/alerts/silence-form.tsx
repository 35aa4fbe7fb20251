/**
 * @module silence-form
 * Silences an alert: matchers prefilled from its rule (`alertname`) and labels, each removable or editable, a
 * duration and a comment. The hub's validation errors are shown in the form.
 */
import type { AlertData, SilenceMatcher } from '@vigil/protocol';
import { useState } from 'preact/hooks';
import { useHub } from '../../lib/hub-context.js';
import { pushToast } from '../../shell/toasts.js';

const DURATIONS: [string, number][] = [
  ['30 minutes', 30 * 60_000],
  ['1 hour', 3_600_000],
  ['2 hours', 2 * 3_600_000],
  ['4 hours', 4 * 3_600_000],
  ['1 day', 24 * 3_600_000],
];

export function SilenceForm({ alert, onDone }: { alert: AlertData; onDone: () => void }) {
  const { http, perms } = useHub();
  const [matchers, setMatchers] = useState<SilenceMatcher[]>(() => [
    { name: 'alertname', value: alert.rule },
    ...Object.entries(alert.labels ?? {}).map(([name, value]) => ({ name, value })),
  ]);
  const [duration, setDuration] = useState(DURATIONS[1]![1]);
  const [comment, setComment] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError('');
    try {
      await http.createSilence({
        matchers,
        ends_at: Date.now() + duration,
        by: perms.who.principal ?? 'dashboard',
        comment,
      });
      pushToast({
        tone: 'info',
        text: `Silenced ${alert.rule} for ${DURATIONS.find(([, ms]) => ms === duration)?.[0]}`,
      });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="inline-form" onSubmit={submit} aria-label={`Silence ${alert.rule}`} data-testid="silence-form">
      <fieldset>
        <legend>Matchers</legend>
        {matchers.map((m, i) => (
          <span class="matcher" key={`${m.name}-${i}`}>
            <code>{m.name}=</code>
            <input
              aria-label={`Value of ${m.name}`}
              value={m.value}
              onInput={(e) => {
                const next = [...matchers];
                next[i] = { ...m, value: e.currentTarget.value };
                setMatchers(next);
              }}
            />
            <button
              type="button"
              class="btn ghost small"
              aria-label={`Remove matcher ${m.name}`}
              disabled={matchers.length === 1}
              onClick={() => setMatchers(matchers.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </span>
        ))}
      </fieldset>
      <label>
        For{' '}
        <select value={duration} onChange={(e) => setDuration(Number(e.currentTarget.value))}>
          {DURATIONS.map(([label, ms]) => (
            <option key={ms} value={ms}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Comment <input value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="why" />
      </label>
      <button type="submit" class="btn primary small" disabled={busy}>
        Silence
      </button>
      <button type="button" class="btn ghost small" onClick={onDone}>
        Cancel
      </button>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
