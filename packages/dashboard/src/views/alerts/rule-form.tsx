/**
 * @module rule-form
 * Create or edit a threshold, anomaly or absence rule. The hub validates it; its error names the field
 * (`details.field`), and the message is shown next to that field. Nothing is created until the hub accepts it.
 */
import { VigilClientError } from '@vigil/client';
import type { RuleAgg, RuleKind, RuleOp, RuleSpec, Severity } from '@vigil/protocol';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useHub } from '../../lib/hub-context.js';
import { pushToast } from '../../shell/toasts.js';
import { formatLabelParam, parseLabels } from '../explore/explore-view.js';

const KINDS: RuleKind[] = ['threshold', 'anomaly', 'absence'];
const OPS: RuleOp[] = ['>', '>=', '<', '<=', '==', '!='];
const AGGS: RuleAgg[] = ['last', 'avg', 'min', 'max', 'rate', 'p95'];
const SEVERITIES: Severity[] = ['info', 'warning', 'error', 'critical'];

interface Draft {
  name: string;
  kind: RuleKind;
  metric: string;
  labels: string;
  agg: RuleAgg;
  window: string;
  op: RuleOp;
  threshold: string;
  resolve_threshold: string;
  for: string;
  keep_firing_for: string;
  z: string;
  severity: Severity;
  summary: string;
}

function draftOf(r: RuleSpec | undefined): Draft {
  return {
    name: r?.name ?? '',
    kind: r?.kind ?? 'threshold',
    metric: r?.metric ?? '',
    labels: formatLabelParam(r?.labels ?? {}),
    agg: r?.agg ?? 'last',
    window: r?.window === undefined ? '' : String(r.window),
    op: r?.op ?? '>',
    threshold: r?.threshold === undefined ? '' : String(r.threshold),
    resolve_threshold: r?.resolve_threshold === undefined ? '' : String(r.resolve_threshold),
    for: r?.for === undefined ? '' : String(r.for),
    keep_firing_for: r?.keep_firing_for === undefined ? '' : String(r.keep_firing_for),
    z: r?.z === undefined ? '' : String(r.z),
    severity: r?.severity ?? 'warning',
    summary: r?.annotations?.summary ?? '',
  };
}

/** The spec sent to the hub: empty fields left out, numbers as numbers where they parse (the hub says otherwise). */
function specOf(d: Draft): RuleSpec {
  const spec: Record<string, unknown> = {
    name: d.name.trim(),
    kind: d.kind,
    metric: d.metric.trim(),
    severity: d.severity,
  };
  const num = (v: string) => (v.trim() === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : v.trim());
  const dur = (v: string) => (v.trim() === '' ? undefined : /^\d+$/.test(v.trim()) ? Number(v) : v.trim());
  const labels = parseLabels(d.labels.trim());
  if (Object.keys(labels).length > 0) spec.labels = labels;
  if (d.window.trim()) spec.window = dur(d.window);
  if (d.for.trim()) spec.for = dur(d.for);
  if (d.kind === 'threshold') {
    spec.agg = d.agg;
    spec.op = d.op;
    spec.threshold = num(d.threshold);
    if (d.resolve_threshold.trim()) spec.resolve_threshold = num(d.resolve_threshold);
    if (d.keep_firing_for.trim()) spec.keep_firing_for = dur(d.keep_firing_for);
  }
  if (d.kind === 'anomaly' && d.z.trim()) spec.z = num(d.z);
  if (d.summary.trim()) spec.annotations = { summary: d.summary.trim() };
  return spec as unknown as RuleSpec;
}

export function RuleForm({ rule, onDone }: { rule: RuleSpec | undefined; onDone: (saved: boolean) => void }) {
  const { http } = useHub();
  const [d, setD] = useState(() => draftOf(rule));
  const [error, setError] = useState<{ field: string; message: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD({ ...d, [k]: v });

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const spec = specOf(d);
      if (rule) await http.updateRule(rule.name, spec);
      else await http.createRule(spec);
      pushToast({ tone: 'info', text: `Rule ${spec.name} saved` });
      onDone(true);
    } catch (err) {
      const field =
        err instanceof VigilClientError && typeof err.details?.field === 'string'
          ? err.details.field.split('.')[0]!
          : 'form';
      setError({ field, message: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const field = (name: keyof Draft | 'form', label: string, input: ComponentChildren, hint?: string) => {
    const id = `rule-${name}`;
    const bad = error?.field === name;
    return (
      <div class={`field ${bad ? 'invalid' : ''}`} data-field={name}>
        <label for={id}>{label}</label>
        {input}
        {hint && <span class="hint">{hint}</span>}
        {bad && (
          <span id={`${id}-error`} class="field-error" role="alert" data-testid="field-error">
            {error.message}
          </span>
        )}
      </div>
    );
  };
  const text = (name: keyof Draft, placeholder = '') => (
    <input
      id={`rule-${name}`}
      value={d[name]}
      placeholder={placeholder}
      aria-invalid={error?.field === name ? true : undefined}
      aria-describedby={error?.field === name ? `rule-${name}-error` : undefined}
      onInput={(e) => set(name, e.currentTarget.value as never)}
    />
  );
  const select = <T extends string>(name: keyof Draft, options: readonly T[]) => (
    <select id={`rule-${name}`} value={d[name]} onChange={(e) => set(name, e.currentTarget.value as never)}>
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );

  const known = [
    'name',
    'kind',
    'metric',
    'labels',
    'agg',
    'window',
    'op',
    'threshold',
    'resolve_threshold',
    'for',
    'keep_firing_for',
    'z',
    'severity',
  ];
  return (
    <form
      class="card rule-form"
      onSubmit={submit}
      aria-label={rule ? `Edit rule ${rule.name}` : 'New rule'}
      data-testid="rule-form"
    >
      <h3>{rule ? `Edit ${rule.name}` : 'New rule'}</h3>
      <div class="form-grid">
        {field('name', 'Name', rule ? <input id="rule-name" value={d.name} readOnly /> : text('name', 'HighCpu'))}
        {field('kind', 'Kind', select('kind', KINDS))}
        {field('metric', 'Metric', text('metric', 'system.cpu.usage'))}
        {field('labels', 'Labels', text('labels', 'cpu=total'), 'k=v, comma separated')}
        {field('severity', 'Severity', select('severity', SEVERITIES))}
        {d.kind === 'threshold' && field('agg', 'Aggregation', select('agg', AGGS))}
        {d.kind === 'threshold' && field('op', 'Operator', select('op', OPS))}
        {d.kind === 'threshold' && field('threshold', 'Threshold', text('threshold', '90'))}
        {d.kind === 'threshold' &&
          field('resolve_threshold', 'Resolve below', text('resolve_threshold'), 'optional hysteresis')}
        {field('window', 'Window', text('window', '1m'))}
        {field('for', 'For', text('for', d.kind === 'absence' ? '1m' : '0s'))}
        {d.kind === 'threshold' && field('keep_firing_for', 'Keep firing for', text('keep_firing_for', '0s'))}
        {d.kind === 'anomaly' && field('z', 'z-score', text('z', '2.5'))}
        {field('summary', 'Summary', text('summary'), 'annotation shown with the alert')}
      </div>
      {error && !known.includes(error.field) && (
        <p class="field-error" role="alert" data-testid="field-error">
          {error.message}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled={busy} data-testid="save-rule">
          {rule ? 'Save' : 'Create rule'}
        </button>
        <button type="button" class="btn ghost" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
