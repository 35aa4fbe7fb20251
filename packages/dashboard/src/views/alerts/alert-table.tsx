/**
 * @module alert-table
 * Alert rows: severity (colour and text), rule, labels, value against threshold, a live "for 3m 12s", who
 * acknowledged it, a link to the metric at that time, and the acknowledge and silence actions.
 */
import type { AlertData } from '@vigil/protocol';
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { Labels, SeverityBadge, StatusBadge } from '../../components/badges.js';
import { GuardedButton } from '../../components/guarded-button.js';
import { useAlertsState } from '../../lib/alerts-store.js';
import { formatDuration, formatNumber } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';
import { useNow } from '../../lib/use-now.js';
import { pushToast } from '../../shell/toasts.js';
import { formatLabelParam } from '../explore/explore-view.js';
import { SilenceForm } from './silence-form.js';

const HIGHLIGHT_MS = 10_000;

export function metricLink(metric: string, a: AlertData): string {
  const from = a.starts_at - 15 * 60_000;
  const to = (a.ends_at ?? Date.now()) + 5 * 60_000;
  const q = new URLSearchParams({ metric, from: String(from), to: String(to) });
  const labels = formatLabelParam(a.labels ?? {});
  if (labels) q.set('labels', labels);
  return `/explore?${q}`;
}

export function AlertTable(props: { alerts: AlertData[]; ruleMetric: ReadonlyMap<string, string>; empty: string }) {
  const now = useNow(1000);
  const { newlyFiring } = useAlertsState();
  const [silencing, setSilencing] = useState<string | undefined>(undefined);
  if (props.alerts.length === 0) return <p class="empty">{props.empty}</p>;
  return (
    <table class="table alerts-table" data-testid="alerts-table">
      <thead>
        <tr>
          <th scope="col">Severity</th>
          <th scope="col">Alert</th>
          <th scope="col">Labels</th>
          <th scope="col" class="num">
            Value / threshold
          </th>
          <th scope="col">For</th>
          <th scope="col">Acknowledged</th>
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.alerts.map((a) => {
          const since = newlyFiring.get(a.id);
          const fresh = since !== undefined && now - since < HIGHLIGHT_MS;
          const metric = props.ruleMetric.get(a.rule);
          return (
            <Fragment key={a.id}>
              <tr class={fresh ? 'fresh' : ''} data-alert-id={a.id} data-testid="alert-row">
                <td>
                  <SeverityBadge severity={a.severity} />
                </td>
                <td>
                  <strong>{a.rule}</strong> <StatusBadge status={a.status} />
                  {metric && (
                    <div>
                      <a class="small" href={metricLink(metric, a)}>
                        {metric} at that time
                      </a>
                    </div>
                  )}
                </td>
                <td>
                  <Labels labels={a.labels} />
                </td>
                <td class="num">
                  {formatNumber(a.value)} / {formatNumber(a.threshold)}
                </td>
                <td class="nowrap" data-testid="alert-for">
                  {a.status === 'resolved'
                    ? formatDuration((a.ends_at ?? now) - a.starts_at)
                    : `for ${formatDuration(now - a.starts_at)}`}
                </td>
                <td data-testid="acked-by">
                  {a.acknowledged_by ? `by ${a.acknowledged_by}` : <span class="muted">no</span>}
                </td>
                <td class="actions">
                  {a.status !== 'resolved' && (
                    <AlertActions alert={a} onSilence={() => setSilencing(silencing === a.id ? undefined : a.id)} />
                  )}
                </td>
              </tr>
              {silencing === a.id && (
                <tr class="form-row">
                  <td colSpan={7}>
                    <SilenceForm alert={a} onDone={() => setSilencing(undefined)} />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

function AlertActions({ alert, onSilence }: { alert: AlertData; onSilence: () => void }) {
  const { http, perms } = useHub();
  const [busy, setBusy] = useState(false);
  const denied = perms.denied('admin', 'alerts');
  const ack = async () => {
    setBusy(true);
    try {
      await http.ackAlert(alert.id, perms.who.principal ?? 'dashboard');
    } catch (err) {
      pushToast({ tone: 'error', text: `Acknowledge failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {!alert.acknowledged_by && (
        <GuardedButton denied={denied} busy={busy} onClick={ack} testId="ack">
          Acknowledge
        </GuardedButton>
      )}
      <GuardedButton denied={denied} onClick={onSilence} testId="silence">
        Silence…
      </GuardedButton>
    </>
  );
}
