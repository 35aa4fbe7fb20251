/**
 * @module hub-view
 * The hub itself: node, version, uptime and broker, and live charts of connections, subscriptions, channels,
 * messages in and out per second, queue drops, gaps and slow-consumer closes, from the `stats` call once a second
 * while the view is open (the last 10 minutes are kept).
 */
import type { HubStats } from '@vigil/protocol';
import { useEffect, useState } from 'preact/hooks';
import { color } from '../../charts/chart-theme.js';
import { TimeChart } from '../../charts/time-chart.js';
import { formatDuration, formatNumber } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';

const KEEP_MS = 10 * 60_000;

interface Sample {
  at: number;
  stats: HubStats;
}

function useStatsHistory(): Sample[] {
  const { client } = useHub();
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    let active = true;
    const read = async () => {
      try {
        const stats = await client.call<HubStats>('stats');
        if (!active) return;
        const at = Date.now();
        setSamples((prev) => [...prev.filter((s) => s.at > at - KEEP_MS), { at, stats }]);
      } catch {
        // offline: the connection indicator says so; the charts resume when the hub answers
      }
    };
    void read();
    const timer = setInterval(read, 1000);
    return () => {
      active = false;
      clearInterval(timer);
    };
  }, [client]);
  return samples;
}

/** Per-second rates of a counter between consecutive samples (a restart, where it drops, gives no point). */
function rate(samples: Sample[], pick: (s: HubStats) => number): (number | null)[] {
  return samples.map((s, i) => {
    const p = samples[i - 1];
    if (!p) return null;
    const d = pick(s.stats) - pick(p.stats);
    return d < 0 ? null : (d * 1000) / (s.at - p.at);
  });
}

export function HubView(_props: { subpath: string }) {
  const samples = useStatsHistory();
  const last = samples[samples.length - 1]?.stats;
  const now = samples[samples.length - 1]?.at ?? Date.now();
  const win: [number, number] = [now - 5 * 60_000, now];
  const ts = samples.map((s) => s.at);
  const charts: { id: string; title: string; lines: [string, (number | null)[]][]; format: (v: number) => string }[] = [
    {
      id: 'connections',
      title: 'Connections and subscriptions',
      lines: [
        ['connections', samples.map((s) => s.stats.connections)],
        ['subscriptions', samples.map((s) => s.stats.subscriptions)],
        ['channels', samples.map((s) => s.stats.channels)],
      ],
      format: (v) => formatNumber(v),
    },
    {
      id: 'messages',
      title: 'Messages per second',
      lines: [
        ['in', rate(samples, (s) => s.messages_in)],
        ['out', rate(samples, (s) => s.messages_out)],
        ['published', rate(samples, (s) => s.events_published)],
      ],
      format: (v) => `${formatNumber(v)}/s`,
    },
    {
      id: 'trouble',
      title: 'Queue drops, gaps and slow-consumer closes (total)',
      lines: [
        ['queue drops', samples.map((s) => s.stats.queue_drops)],
        ['gaps', samples.map((s) => s.stats.gaps)],
        ['slow-consumer closes', samples.map((s) => s.stats.slow_consumer_closes)],
      ],
      format: (v) => formatNumber(v),
    },
  ];
  return (
    <div class="view hub">
      <h1>Hub</h1>
      <section class="tiles" aria-label="The hub">
        <Fact title="Node" value={last?.node} testId="hub-node" />
        <Fact title="Version" value={last?.version} />
        <Fact title="Uptime" value={last ? formatDuration(last.uptime_s * 1000) : undefined} />
        <Fact title="Broker" value={last?.broker} />
        <Fact title="Connections" value={last ? String(last.connections) : undefined} />
        <Fact title="Subscriptions" value={last ? String(last.subscriptions) : undefined} />
        <Fact title="Channels" value={last ? String(last.channels) : undefined} />
        <Fact title="Queue drops" value={last ? String(last.queue_drops) : undefined} />
      </section>
      <section class="chart-grid" aria-label="Hub charts">
        {charts.map((c) => (
          <div class="card" key={c.id}>
            <TimeChart
              title={c.title}
              testId={`hub-${c.id}`}
              series={c.lines.map(([label], i) => ({ label, color: color(i) }))}
              data={[ts, ...c.lines.map(([, v]) => v)]}
              window={win}
              format={c.format}
            />
          </div>
        ))}
      </section>
      <p class="muted">
        The API: <a href="/api">endpoints</a> · <a href="/api/docs">OpenAPI</a> ·{' '}
        <a href="/metrics">Prometheus metrics</a>
      </p>
    </div>
  );
}

function Fact({ title, value, testId }: { title: string; value: string | undefined; testId?: string }) {
  return (
    <div class="tile" data-testid={testId}>
      <div class="tile-title">{title}</div>
      <div class="tile-value small-value">{value ?? '–'}</div>
    </div>
  );
}
