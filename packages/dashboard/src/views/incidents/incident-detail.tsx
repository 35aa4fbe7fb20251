/**
 * @module incident-detail
 * One incident: its summary, the live timeline (alerts attached, escalations, assignment, comments,
 * acknowledgement, resolution) and the forms that act on it. Changes made anywhere arrive on the `incidents`
 * channel and redraw the page.
 */
import type { IncidentData } from '@vigil/protocol';
import { useState } from 'preact/hooks';
import { Labels, SeverityBadge, StatusBadge } from '../../components/badges.js';
import { formatDateTime } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';
import { useAsync } from '../../lib/use-async.js';
import { pushToast } from '../../shell/toasts.js';

export function IncidentDetail({ id, incident: live }: { id: string; incident: IncidentData | undefined }) {
  const { http } = useHub();
  // The live map only holds what the list call and the channel brought; an older incident is fetched once.
  const fetched = useAsync(() => (live ? Promise.resolve(undefined) : http.incident(id)), [id, live === undefined]);
  const incident = live ?? fetched.value;
  if (!incident) {
    return (
      <div class="view">
        <p>
          <a href="/incidents">← Incidents</a>
        </p>
        <p class="empty">{fetched.loading ? 'Loading…' : `No incident ${id}.`}</p>
      </div>
    );
  }
  return (
    <div class="view incident-detail" data-testid="incident-detail">
      <p>
        <a href="/incidents">← Incidents</a>
      </p>
      <h1>
        <span class={`badge prio prio-${incident.priority}`}>{incident.priority}</span> {incident.title}
      </h1>
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <StatusBadge status={incident.status} />
        </dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={incident.severity} />
        </dd>
        <dt>Assignee</dt>
        <dd data-testid="assignee">{incident.assignee ?? 'unassigned'}</dd>
        <dt>Labels</dt>
        <dd>
          <Labels labels={incident.labels} />
        </dd>
        <dt>Alerts</dt>
        <dd>
          {incident.firing} firing of {incident.alerts.length}
        </dd>
        <dt>Escalation level</dt>
        <dd>{incident.escalation_level}</dd>
      </dl>
      <IncidentActions incident={incident} />
      <h2>Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        {incident.timeline.map((t, i) => (
          <li key={`${t.at}-${i}`} class={`tl tl-${t.type}`}>
            <time dateTime={new Date(t.at).toISOString()}>{formatDateTime(t.at)}</time>
            <span class="tl-type">{t.type.replace('_', ' ')}</span>
            {t.by && <span class="tl-by">by {t.by}</span>}
            <span class="tl-detail">{t.detail}</span>
          </li>
        ))}
      </ol>
      <h2>Comments</h2>
      {incident.comments.length === 0 ? (
        <p class="empty">No comment yet.</p>
      ) : (
        <ul class="comments" data-testid="comments">
          {incident.comments.map((c) => (
            <li key={c.id}>
              <strong>{c.by}</strong> <time class="muted">{formatDateTime(c.at)}</time>
              <p>{c.text}</p>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function IncidentActions({ incident }: { incident: IncidentData }) {
  const { http, perms } = useHub();
  const me = perms.who.principal ?? 'dashboard';
  const denied = perms.denied('admin', 'incidents');
  const [comment, setComment] = useState('');
  const [assignee, setAssignee] = useState(incident.assignee ?? '');
  const [busy, setBusy] = useState(false);
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
      return true;
    } catch (err) {
      pushToast({ tone: 'error', text: `${what} failed: ${(err as Error).message}` });
      return false;
    } finally {
      setBusy(false);
    }
  };
  const resolved = incident.status === 'resolved';
  return (
    <div class="incident-actions">
      {denied && <p class="notice">{denied}: the actions below are disabled.</p>}
      <div class="action-row">
        <button
          type="button"
          class="btn"
          disabled={!!denied || busy || incident.status !== 'open'}
          title={denied}
          onClick={() => act('Acknowledge', () => http.ackIncident(incident.id, me))}
          data-testid="incident-ack"
        >
          Acknowledge
        </button>
        <button
          type="button"
          class="btn"
          disabled={!!denied || busy || resolved}
          title={denied}
          onClick={() => act('Resolve', () => http.resolveIncident(incident.id, me))}
          data-testid="incident-resolve"
        >
          Resolve
        </button>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act('Assign', () => http.assignIncident(incident.id, assignee.trim() || null, me));
          }}
        >
          <label for="assignee">Assignee</label>
          <input
            id="assignee"
            value={assignee}
            disabled={!!denied}
            onInput={(e) => setAssignee(e.currentTarget.value)}
          />
          <button type="submit" class="btn" disabled={!!denied || busy} title={denied}>
            Assign
          </button>
        </form>
      </div>
      <form
        class="comment-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!comment.trim()) return;
          if (await act('Comment', () => http.commentIncident(incident.id, me, comment.trim()))) setComment('');
        }}
      >
        <label for="comment">Comment</label>
        <textarea
          id="comment"
          rows={2}
          value={comment}
          disabled={!!denied}
          onInput={(e) => setComment(e.currentTarget.value)}
          data-testid="comment-input"
        />
        <button
          type="submit"
          class="btn primary"
          disabled={!!denied || busy || !comment.trim()}
          title={denied}
          data-testid="comment-submit"
        >
          Add comment
        </button>
      </form>
    </div>
  );
}
