/**
 * @module alerts-view
 * Alerts: tabs for firing and pending, silenced, resolved history and rules. Active alerts come live from the
 * `alerts` channel (new firings at the top, highlighted for a moment); each row can be acknowledged and silenced
 * when the credential may, and links to its metric around the time it started.
 */
import type { AlertData, RuleInfo } from '@vigil/protocol';
import { useMemo, useState } from 'preact/hooks';
import { SeverityBadge } from '../../components/badges.js';
import { Tabs } from '../../components/tabs.js';
import { useAlertsState } from '../../lib/alerts-store.js';
import { useHub } from '../../lib/hub-context.js';
import { useRoute } from '../../lib/router.js';
import { useAsync } from '../../lib/use-async.js';
import { AlertTable } from './alert-table.js';
import { RulesTab } from './rules-tab.js';
import { SilencesList } from './silences-list.js';

type Tab = 'active' | 'silenced' | 'history' | 'rules';
const TABS: readonly (readonly [Tab, string])[] = [
  ['active', 'Firing and pending'],
  ['silenced', 'Silenced'],
  ['history', 'Resolved'],
  ['rules', 'Rules'],
];

const SEVERITY_ORDER: Record<string, number> = { critical: 0, error: 1, warning: 2, info: 3 };

function sortActive(list: AlertData[]): AlertData[] {
  return list.sort(
    (a, b) =>
      (a.status === 'firing' ? 0 : 1) - (b.status === 'firing' ? 0 : 1) ||
      b.starts_at - a.starts_at ||
      (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9),
  );
}

export function AlertsView(_props: { subpath: string }) {
  const { http, perms } = useHub();
  const { params } = useRoute();
  const tab = (TABS.find(([id]) => id === params.get('tab'))?.[0] ?? 'active') as Tab;
  const { alerts } = useAlertsState();
  const rules = useAsync(() => http.rules().catch(() => ({ rules: [] as RuleInfo[] })), [tab]);
  const ruleMetric = useMemo(() => new Map((rules.value?.rules ?? []).map((r) => [r.name, r.metric])), [rules.value]);
  const [notify, setNotify] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

  const active = useMemo(
    () =>
      sortActive(
        [...alerts.values()].filter((a) => (a.status === 'firing' || a.status === 'pending') && !isSilenced(a)),
      ),
    [alerts],
  );
  const silenced = useMemo(
    () => sortActive([...alerts.values()].filter((a) => a.status !== 'resolved' && isSilenced(a))),
    [alerts],
  );
  const history = useAsync(
    () => (tab === 'history' ? http.alerts({ state: 'resolved', limit: 200 }) : Promise.resolve(undefined)),
    [tab, [...alerts.values()].filter((a) => a.status === 'resolved').length],
  );
  const ackDenied = perms.denied('admin', 'alerts');

  return (
    <div class="view alerts">
      <div class="view-head">
        <h1>Alerts</h1>
        {notify === 'default' && (
          <button
            type="button"
            class="btn small"
            onClick={() => Notification.requestPermission().then((p) => setNotify(p))}
          >
            Enable browser notifications
          </button>
        )}
      </div>
      {ackDenied && tab !== 'rules' && (
        <p class="notice" data-testid="read-only-notice">
          Read-only: acknowledging and silencing are disabled. {ackDenied}.
        </p>
      )}
      <Tabs tabs={TABS} current={tab} label="Alert lists" />
      {tab === 'active' && (
        <AlertTable alerts={active} ruleMetric={ruleMetric} empty="No alert is firing or pending." />
      )}
      {tab === 'silenced' && (
        <>
          <AlertTable alerts={silenced} ruleMetric={ruleMetric} empty="No active alert is silenced." />
          <SilencesList />
        </>
      )}
      {tab === 'history' && (
        <AlertTable
          alerts={history.value?.alerts ?? []}
          ruleMetric={ruleMetric}
          empty={history.loading ? 'Loading…' : 'No resolved alert.'}
        />
      )}
      {tab === 'rules' && <RulesTab />}
    </div>
  );
}

function isSilenced(a: AlertData): boolean {
  return (a as AlertData & { silenced?: boolean }).silenced === true;
}

export { SeverityBadge };
