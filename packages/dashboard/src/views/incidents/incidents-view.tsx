/**
 * @module incidents-view
 * Incidents: a list filtered by state and priority (in the URL), and a detail page (`/incidents/<id>`) whose
 * timeline updates live, with forms to assign, comment, acknowledge and resolve.
 */

import { useIncidents } from '@vigil/client/react';
import type { IncidentData } from '@vigil/protocol';
import { Labels, SeverityBadge, StatusBadge } from '../../components/badges.js';
import { formatDateTime, formatDuration } from '../../lib/format.js';
import { setParams, useRoute } from '../../lib/router.js';
import { useNow } from '../../lib/use-now.js';
import { IncidentDetail } from './incident-detail.js';

const STATES = ['open', 'acknowledged', 'resolved'] as const;
const PRIORITIES = ['P0', 'P1', 'P2', 'P3', 'P4'] as const;

export function IncidentsView({ subpath }: { subpath: string }) {
  const incidents = useIncidents();
  const { params } = useRoute();
  if (subpath) return <IncidentDetail id={subpath} incident={incidents.get(subpath)} />;
  const state = params.get('state') ?? 'active';
  const priority = params.get('priority') ?? '';
  const list = [...incidents.values()]
    .filter((i) => (state === 'active' ? i.status !== 'resolved' : state === 'all' ? true : i.status === state))
    .filter((i) => !priority || i.priority === priority)
    .sort((a, b) => (a.priority < b.priority ? -1 : a.priority > b.priority ? 1 : b.updated_at - a.updated_at));
  return (
    <div class="view incidents">
      <h1>Incidents</h1>
      <fieldset class="filters">
        <legend class="sr-only">Filters</legend>
        <label>
          State{' '}
          <select
            value={state}
            onChange={(e) =>
              setParams({ state: e.currentTarget.value === 'active' ? undefined : e.currentTarget.value })
            }
          >
            <option value="active">open and acknowledged</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
            <option value="all">all</option>
          </select>
        </label>
        <label>
          Priority{' '}
          <select value={priority} onChange={(e) => setParams({ priority: e.currentTarget.value || undefined })}>
            <option value="">any</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <IncidentTable list={list} />
    </div>
  );
}

function IncidentTable({ list }: { list: IncidentData[] }) {
  const now = useNow(1000);
  if (list.length === 0) return <p class="empty">No incident matches.</p>;
  return (
    <table class="table" data-testid="incidents-table">
      <thead>
        <tr>
          <th scope="col">Priority</th>
          <th scope="col">Incident</th>
          <th scope="col">State</th>
          <th scope="col">Labels</th>
          <th scope="col" class="num">
            Firing
          </th>
          <th scope="col">Assignee</th>
          <th scope="col">Opened</th>
        </tr>
      </thead>
      <tbody>
        {list.map((i) => (
          <tr key={i.id} data-incident-id={i.id}>
            <td>
              <span class={`badge prio prio-${i.priority}`}>{i.priority}</span> <SeverityBadge severity={i.severity} />
            </td>
            <td>
              <a href={`/incidents/${encodeURIComponent(i.id)}`}>{i.title}</a>
            </td>
            <td>
              <StatusBadge status={i.status} />
            </td>
            <td>
              <Labels labels={i.labels} />
            </td>
            <td class="num">
              {i.firing}/{i.alerts.length}
            </td>
            <td>{i.assignee ?? <span class="muted">unassigned</span>}</td>
            <td class="nowrap" title={formatDateTime(i.created_at)}>
              {formatDuration(now - i.created_at)} ago
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
