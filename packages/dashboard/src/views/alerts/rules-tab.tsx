/**
 * @module rules-tab
 * Alert rules: the list (config rules are read-only), and create, edit and delete of API rules with a form that
 * shows the hub's validation error next to the field it names.
 */
import type { RuleInfo } from '@vigil/protocol';
import { useState } from 'preact/hooks';
import { SeverityBadge } from '../../components/badges.js';
import { GuardedButton } from '../../components/guarded-button.js';
import { useHub } from '../../lib/hub-context.js';
import { useAsync } from '../../lib/use-async.js';
import { pushToast } from '../../shell/toasts.js';
import { RuleForm } from './rule-form.js';

function condition(r: RuleInfo): string {
  if (r.kind === 'threshold') return `${r.agg ?? 'last'} ${r.op ?? '>'} ${r.threshold}${r.for ? ` for ${r.for}` : ''}`;
  if (r.kind === 'anomaly') return `|z| ≥ ${r.z ?? 2.5}`;
  return `no data for ${r.for ?? '1m'}`;
}

export function RulesTab() {
  const { http, perms } = useHub();
  const rules = useAsync(() => http.rules(), []);
  const [editing, setEditing] = useState<RuleInfo | 'new' | undefined>(undefined);
  const denied = perms.denied('admin', 'alerts');
  const list = rules.value?.rules ?? [];

  const remove = async (r: RuleInfo) => {
    if (!confirm(`Delete rule ${r.name}? Its active alerts resolve.`)) return;
    try {
      await http.deleteRule(r.name);
      rules.reload();
    } catch (err) {
      pushToast({ tone: 'error', text: `Delete failed: ${(err as Error).message}` });
    }
  };

  return (
    <section aria-label="Rules">
      <div class="view-head">
        <h2>Rules</h2>
        <GuardedButton denied={denied} class="primary" onClick={() => setEditing('new')} testId="new-rule">
          New rule
        </GuardedButton>
      </div>
      {editing && (
        <RuleForm
          rule={editing === 'new' ? undefined : editing}
          onDone={(saved) => {
            setEditing(undefined);
            if (saved) rules.reload();
          }}
        />
      )}
      {list.length === 0 ? (
        <p class="empty">{rules.loading ? 'Loading…' : 'No rule yet.'}</p>
      ) : (
        <table class="table" data-testid="rules-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Metric</th>
              <th scope="col">Condition</th>
              <th scope="col">Severity</th>
              <th scope="col">Source</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => {
              const why = r.source === 'config' ? 'Defined in the config file: read-only here' : denied;
              return (
                <tr key={r.name} data-rule={r.name}>
                  <td>
                    <strong>{r.name}</strong>
                  </td>
                  <td>{r.kind}</td>
                  <td>
                    <code>{r.metric}</code>
                  </td>
                  <td class="mono">{condition(r)}</td>
                  <td>
                    <SeverityBadge severity={r.severity} />
                  </td>
                  <td>{r.source === 'config' ? 'config file' : 'API'}</td>
                  <td class="actions">
                    <GuardedButton denied={why} onClick={() => setEditing(r)}>
                      Edit
                    </GuardedButton>
                    <GuardedButton denied={why} class="danger" onClick={() => remove(r)}>
                      Delete
                    </GuardedButton>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
