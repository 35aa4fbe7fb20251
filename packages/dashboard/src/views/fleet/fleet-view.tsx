/**
 * @module fleet-view
 * The Fleet: every host of the hub's registry (docs/agent.md) with its status, CPU, memory, fullest disk, network and
 * last report, sortable by any column and filtered by labels (`role=web dc=eu`); the top hosts by CPU, memory and
 * disk; a drawing of the hub nodes and the agents reporting to each, coloured by status. All of it follows the
 * `nodes`, `resources` and `topology` channels live. `/fleet/<host id>` drills down to that host: its facts and the
 * Overview's charts drawn from its own series (those labelled `host=<id>`).
 */
import { useHost, useHosts, useResources, useTopology } from '@vigil/client/react';
import type { HostData, TopologyData } from '@vigil/protocol';
import { useMemo, useRef, useState } from 'preact/hooks';
import { Labels, StatusBadge } from '../../components/badges.js';
import { formatBytes, formatDateTime, formatDuration, formatPercent } from '../../lib/format.js';
import { useHostStore } from '../../lib/host-store.js';
import { hubHostLabels, useOwnHost } from '../../lib/own-host.js';
import { goLive, useTimeRange, windowOf, zoomTo } from '../../lib/time-range.js';
import { useNow } from '../../lib/use-now.js';
import { HOST_CHARTS } from '../overview/host-charts.js';
import { build, ChartCard, useStoreVersion } from '../overview/overview-view.js';

type SortKey = 'id' | 'status' | 'cpu' | 'memory' | 'disk' | 'network' | 'last_seen';

const COLUMNS: { key: SortKey; title: string; num?: boolean }[] = [
  { key: 'id', title: 'Host' },
  { key: 'status', title: 'Status' },
  { key: 'cpu', title: 'CPU', num: true },
  { key: 'memory', title: 'Memory', num: true },
  { key: 'disk', title: 'Disk', num: true },
  { key: 'network', title: 'Network', num: true },
  { key: 'last_seen', title: 'Last seen' },
];

const STATUS_ORDER = { down: 0, stale: 1, up: 2 } as const;

function value(h: HostData, key: SortKey): number | string {
  const s = h.summary;
  switch (key) {
    case 'id':
      return h.id;
    case 'status':
      return STATUS_ORDER[h.status];
    case 'cpu':
      return s?.cpu_percent ?? -1;
    case 'memory':
      return s?.memory_used_percent ?? -1;
    case 'disk':
      return s?.disk_used_percent ?? -1;
    case 'network':
      return (s?.net_rx_bytes_per_s ?? 0) + (s?.net_tx_bytes_per_s ?? 0);
    case 'last_seen':
      return h.last_seen;
  }
}

/** `role=web dc=eu` (spaces or commas) to label pairs; a word without `=` matches any label value or the id. */
export function parseFilter(text: string): { pairs: [string, string][]; words: string[] } {
  const pairs: [string, string][] = [];
  const words: string[] = [];
  for (const part of text.split(/[\s,]+/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq > 0) pairs.push([part.slice(0, eq), part.slice(eq + 1)]);
    else words.push(part.toLowerCase());
  }
  return { pairs, words };
}

function matches(h: HostData, f: ReturnType<typeof parseFilter>): boolean {
  if (f.pairs.some(([k, v]) => h.labels[k] !== v)) return false;
  return f.words.every((w) => h.id.toLowerCase().includes(w) || Object.values(h.labels).some((v) => v === w));
}

export function FleetView({ subpath }: { subpath: string }) {
  if (subpath) return <HostDetail id={subpath} />;
  return <FleetList />;
}

function FleetList() {
  const hosts = useHosts();
  const resources = useResources();
  const topology = useTopology();
  const now = useNow(1000);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'id', desc: false });
  const [filter, setFilter] = useState('');
  const list = useMemo(() => {
    const f = parseFilter(filter);
    const out = [...hosts.values()].filter((h) => matches(h, f));
    out.sort((a, b) => {
      const x = value(a, sort.key);
      const y = value(b, sort.key);
      const c = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : 1;
      return sort.desc ? -c : c;
    });
    return out;
  }, [hosts, sort, filter]);
  const counts = { up: 0, stale: 0, down: 0 };
  for (const h of hosts.values()) counts[h.status]++;
  const onSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, desc: !s.desc } : { key, desc: key !== 'id' && key !== 'status' }));
  return (
    <div class="view fleet">
      <h1>Fleet</h1>
      <p class="fleet-counts" data-testid="fleet-counts">
        <span class="status-up">{counts.up} up</span> · <span class="status-stale">{counts.stale} stale</span> ·{' '}
        <span class="status-down">{counts.down} down</span>
      </p>
      <label class="fleet-filter">
        Filter by label{' '}
        <input
          type="search"
          value={filter}
          placeholder="role=web dc=eu"
          data-testid="fleet-filter"
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      </label>
      {hosts.size === 0 ? (
        <p class="empty">
          No host reports yet. Run <code>vigil agent --hub &lt;this hub&gt;</code> on a machine (see docs/agent.md).
        </p>
      ) : (
        <table class="table" data-testid="hosts-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  scope="col"
                  class={c.num ? 'num' : undefined}
                  key={c.key}
                  aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                >
                  <button type="button" class="sort" data-testid={`sort-${c.key}`} onClick={() => onSort(c.key)}>
                    {c.title}
                    {sort.key === c.key ? (sort.desc ? ' ↓' : ' ↑') : ''}
                  </button>
                </th>
              ))}
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            {list.map((h) => (
              <HostRow key={h.id} h={h} now={now} />
            ))}
          </tbody>
        </table>
      )}
      <div class="fleet-panels">
        <section class="card fleet-top" aria-label="Top hosts" data-testid="fleet-top">
          <h2>Top hosts</h2>
          {resources ? (
            <dl>
              {(['cpu', 'memory', 'disk'] as const).map((k) => (
                <div key={k}>
                  <dt>{k === 'cpu' ? 'CPU' : k === 'memory' ? 'Memory' : 'Disk'}</dt>
                  <dd>
                    {resources.top[k].length === 0
                      ? '–'
                      : resources.top[k].map((id) => {
                          const s = resources.hosts.find((x) => x.id === id)?.summary;
                          const v =
                            k === 'cpu'
                              ? s?.cpu_percent
                              : k === 'memory'
                                ? s?.memory_used_percent
                                : s?.disk_used_percent;
                          return (
                            <a key={id} href={`/fleet/${encodeURIComponent(id)}`} class="top-host">
                              {id} {formatPercent(v)}
                            </a>
                          );
                        })}
                  </dd>
                </div>
              ))}
            </dl>
          ) : (
            <p class="empty">Waiting for the first figures.</p>
          )}
        </section>
        <section class="card fleet-topology" aria-label="Topology">
          <h2>Topology</h2>
          {topology ? <TopologyDrawing t={topology} /> : <p class="empty">Waiting for the topology.</p>}
        </section>
      </div>
    </div>
  );
}

function HostRow({ h, now }: { h: HostData; now: number }) {
  const s = h.summary;
  const net = s && (s.net_rx_bytes_per_s !== null || s.net_tx_bytes_per_s !== null);
  return (
    <tr data-host-id={h.id} class={`host-${h.status}`}>
      <th scope="row">
        <a href={`/fleet/${encodeURIComponent(h.id)}`}>{h.id}</a>
        {h.source === 'hub' && <span class="muted"> (hub)</span>}
      </th>
      <td data-testid="host-status">
        <StatusBadge status={h.status} />
      </td>
      <td class="num">{formatPercent(s?.cpu_percent)}</td>
      <td class="num">{formatPercent(s?.memory_used_percent)}</td>
      <td class="num">{formatPercent(s?.disk_used_percent)}</td>
      <td class="num">
        {net ? `↓${formatBytes(s.net_rx_bytes_per_s ?? 0)}/s ↑${formatBytes(s.net_tx_bytes_per_s ?? 0)}/s` : '–'}
      </td>
      <td title={formatDateTime(h.last_seen)}>{formatDuration(Math.max(0, now - h.last_seen))} ago</td>
      <td>
        <Labels labels={h.labels} />
      </td>
    </tr>
  );
}

/** Hub nodes in a column on the left, each host on the right joined to the node it reports to. */
function TopologyDrawing({ t }: { t: TopologyData }) {
  const rowH = 26;
  const agents = t.agents;
  const nodes =
    t.nodes.length > 0
      ? t.nodes
      : [...new Set(agents.map((a) => a.node))].map((id) => ({ id, address: '', connections: 0 }));
  const height = Math.max(nodes.length, agents.length, 1) * rowH + 10;
  const nodeY = (i: number) => 5 + ((i + 0.5) * (height - 10)) / Math.max(1, nodes.length);
  const agentY = (i: number) => 5 + (i + 0.5) * rowH;
  const index = new Map(nodes.map((n, i) => [n.id, i] as const));
  return (
    <svg
      class="topology"
      viewBox={`0 0 420 ${height}`}
      width="100%"
      role="img"
      aria-label={`${nodes.length} hub node(s), ${agents.length} host(s), ${t.clients} client(s)`}
      data-testid="topology"
    >
      {agents.map((a, i) => {
        const n = index.get(a.node);
        return n === undefined ? null : (
          <line key={`l-${a.host}`} x1={150} y1={nodeY(n)} x2={260} y2={agentY(i)} class={`link link-${a.status}`} />
        );
      })}
      {nodes.map((n, i) => (
        <g key={`n-${n.id}`}>
          <rect x={10} y={nodeY(i) - 11} width={140} height={22} rx={4} class="node" />
          <text x={18} y={nodeY(i) + 4} class="node-label">
            {n.id} ({n.connections})
          </text>
        </g>
      ))}
      {agents.map((a, i) => (
        <g key={`a-${a.host}`} data-agent={a.host} data-status={a.status}>
          <circle cx={266} cy={agentY(i)} r={6} class={`agent agent-${a.status}`} />
          <text x={278} y={agentY(i) + 4} class="agent-label">
            {a.host}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** The charts of one host: the Overview's host charts (not the hub process ones) on its own series. */
const HOST_ONLY = HOST_CHARTS.filter((c) => !c.id.startsWith('hub-'));

function HostDetail({ id }: { id: string }) {
  const host = useHost(id);
  const store = useHostStore();
  const range = useTimeRange();
  const follow = range.live && !range.paused;
  const version = useStoreVersion(store, follow);
  useNow(follow ? 5000 : 3_600_000);
  const frozenAt = useRef(Date.now());
  if (follow) frozenAt.current = Date.now();
  const win = windowOf(range, frozenAt.current);
  // An agent's series carry `host=<id>`, and so do a cluster node's own (its host id); a single hub's are unlabelled.
  const own = useOwnHost();
  const labels = host?.source === 'hub' ? hubHostLabels(id, own) : { host: id };
  const charts = useMemo(
    () => HOST_ONLY.map((def) => ({ def, built: build(store, def.lines, win, range.live, labels) })),
    [store, version, win[0], win[1], range.live, labels.host],
  );
  const info = host?.info;
  return (
    <div class="view fleet-host">
      <p>
        <a href="/fleet">← Fleet</a>
      </p>
      <h1>
        {id} {host && <StatusBadge status={host.status} />}
      </h1>
      {!host ? (
        <p class="empty">No such host in the registry (yet).</p>
      ) : (
        <dl class="facts" data-testid="host-facts">
          <dt>Labels</dt>
          <dd>
            <Labels labels={host.labels} />
          </dd>
          <dt>System</dt>
          <dd>
            {info
              ? `${info.os} ${info.kernel} ${info.arch}, ${info.cores} cores, ${formatBytes(info.memory_bytes)}`
              : '–'}
          </dd>
          <dt>{host.source === 'hub' ? 'Collector' : 'Agent'}</dt>
          <dd>
            {!info
              ? '–'
              : host.source === 'hub'
                ? `the hub's own (Vigil ${info.agent_version})`
                : `${info.agent_version}, every ${info.interval_ms < 1000 ? `${info.interval_ms} ms` : formatDuration(info.interval_ms)}`}
          </dd>
          <dt>Reports to</dt>
          <dd>{host.node}</dd>
          <dt>First seen</dt>
          <dd>{formatDateTime(host.first_seen)}</dd>
          <dt>Last seen</dt>
          <dd>{formatDateTime(host.last_seen)}</dd>
        </dl>
      )}
      {charts.every((c) => c.built.series.length === 0) && <p class="empty">Waiting for this host's metrics.</p>}
      <section class="chart-grid" aria-label={`Charts of ${id}`}>
        {charts.map(({ def, built }) =>
          built.series.length === 0 ? null : (
            <ChartCard
              key={def.id}
              def={def}
              built={built}
              win={win}
              range={range}
              onZoom={zoomTo}
              onReset={() => goLive(range.span)}
            />
          ),
        )}
      </section>
    </div>
  );
}
