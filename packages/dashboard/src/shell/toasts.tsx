/**
 * @module toasts
 * Short messages in a corner (a critical alert, a saved form), gone after a few seconds or on dismiss.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Toast {
  id: number;
  tone: 'critical' | 'info' | 'error';
  text: string;
  href?: string;
}

let nextId = 1;
let toasts: Toast[] = [];
const listeners = new Set<() => void>();
const TTL_MS = 8000;

function changed(): void {
  for (const l of listeners) l();
}

export function pushToast(toast: Omit<Toast, 'id'>): void {
  const t = { ...toast, id: nextId++ };
  toasts = [...toasts.slice(-4), t];
  changed();
  setTimeout(() => dismiss(t.id), TTL_MS);
}

function dismiss(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  changed();
}

export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    const update = () => setList(toasts);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return (
    <div class="toasts" aria-live="assertive">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.tone}`} role="alert" data-testid="toast">
          {t.href ? <a href={t.href}>{t.text}</a> : <span>{t.text}</span>}
          <button type="button" class="btn ghost small" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
