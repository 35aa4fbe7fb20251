/**
 * @module channel-list
 * The hub's channels with their subscribers, newest offset and event rate (from the change in offset between two
 * reads, every 2 s while the view is open).
 */
import type { ChannelInfo } from '@vigil/protocol';
import { memo } from 'preact/compat';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatNumber } from '../../lib/format.js';
import { useHub } from '../../lib/hub-context.js';

interface Row extends ChannelInfo {
  rate: number | null;
}

/** Memoised: the tail view re-renders every animation frame under load; the channel list only every 2 s. */
export const ChannelList = memo(function ChannelList({ onPick }: { onPick: (channel: string) => void }) {
  const { http } = useHub();
  const [rows, setRows] = useState<Row[]>([]);
  const last = useRef(new Map<string, { offset: number; at: number }>());
  useEffect(() => {
    let active = true;
    const read = async () => {
      try {
        const { channels } = await http.channels();
        if (!active) return;
        const now = Date.now();
        const prev = last.current;
        const next = new Map<string, { offset: number; at: number }>();
        setRows(
          channels.map((c) => {
            const p = prev.get(c.channel);
            next.set(c.channel, { offset: c.offset, at: now });
            const rate = p && now > p.at && c.offset >= p.offset ? ((c.offset - p.offset) * 1000) / (now - p.at) : null;
            return { ...c, rate };
          }),
        );
        last.current = next;
      } catch {
        // shown as a stale list; the connection indicator tells why
      }
    };
    void read();
    const timer = setInterval(read, 2000);
    return () => {
      active = false;
      clearInterval(timer);
    };
  }, [http]);
  const shown = rows.filter((r) => !r.channel.startsWith('metrics.')).slice(0, 40);
  const metricChannels = rows.length - rows.filter((r) => !r.channel.startsWith('metrics.')).length;
  return (
    <section class="card" aria-label="Channels">
      <h2>Channels</h2>
      <table class="table compact" data-testid="channel-list">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col" class="num">
              Subs
            </th>
            <th scope="col" class="num">
              Offset
            </th>
            <th scope="col" class="num">
              Rate/s
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.channel}>
              <td>
                <button type="button" class="linklike" onClick={() => onPick(r.channel)} title="Use as the pattern">
                  {r.channel}
                </button>
              </td>
              <td class="num">{r.subscribers}</td>
              <td class="num">{r.offset}</td>
              <td class="num">{r.rate === null ? '–' : formatNumber(r.rate, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {metricChannels > 0 && (
        <p class="muted small">
          and {metricChannels} metric channels (
          <button type="button" class="linklike" onClick={() => onPick('metrics.>')}>
            metrics.&gt;
          </button>
          )
        </p>
      )}
    </section>
  );
});
