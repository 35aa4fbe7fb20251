/**
 * @module silences-list
 * The silences (pending, active, expired), with "expire now" for those still in force.
 */
import { GuardedButton } from '../../components/guarded-button.js';
import { formatDateTime } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';
import { useAsync } from '../../lib/use-async.js';

export function SilencesList() {
  const { http, perms } = useHub();
  const list = useAsync(() => http.silences(), []);
  const denied = perms.denied('admin', 'alerts');
  const silences = list.value?.silences ?? [];
  return (
    <section aria-label="Silences">
      <h2>Silences</h2>
      {silences.length === 0 ? (
        <p class="empty">{list.loading ? 'Loading…' : 'No silence.'}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Matchers</th>
              <th scope="col">Status</th>
              <th scope="col">Until</th>
              <th scope="col">By</th>
              <th scope="col">Comment</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {silences.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.matchers.map((m) => `${m.name}${m.op ?? '='}${m.value}`).join(', ')}</code>
                </td>
                <td>{s.status}</td>
                <td class="nowrap">{formatDateTime(s.ends_at)}</td>
                <td>{s.by}</td>
                <td>{s.comment || <span class="muted">–</span>}</td>
                <td class="actions">
                  {s.status !== 'expired' && (
                    <GuardedButton denied={denied} onClick={() => http.expireSilence(s.id).then(list.reload)}>
                      Expire now
                    </GuardedButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
