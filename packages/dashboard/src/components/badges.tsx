/**
 * @module badges
 * Small labelled marks: severity (colour and text), status, labels as chips.
 */
import type { Severity } from '@vigil/protocol';

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return <span class={`badge sev sev-${severity}`}>{severity}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status status-${status}`}>{status}</span>;
}

export function Labels({ labels }: { labels: Record<string, string> | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <span class="labels">
      {entries.map(([k, v]) => (
        <span class="label" key={k}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}
