/**
 * @module publish-form
 * Publishes one event to an application channel (`POST /api/v1/publish`), when the credential holds `publish`.
 */
import { memo } from 'preact/compat';
import { useState } from 'preact/hooks';
import { useHub } from '../../lib/hub-context.js';

export const PublishForm = memo(function PublishForm({ denied }: { denied: string | undefined }) {
  const { http } = useHub();
  const [channel, setChannel] = useState('demo.hello');
  const [data, setData] = useState('{"text":"hello"}');
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (err) {
      setResult({ ok: false, text: `Data is not valid JSON: ${(err as Error).message}` });
      return;
    }
    try {
      const r = await http.publish(channel.trim(), value);
      setResult({ ok: true, text: `Published at offset ${r.offset}` });
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form class="card publish-form" onSubmit={submit} aria-label="Publish an event">
      <h2>Publish</h2>
      {denied && <p class="notice">{denied}.</p>}
      <label for="pub-channel">Channel</label>
      <input id="pub-channel" value={channel} disabled={!!denied} onInput={(e) => setChannel(e.currentTarget.value)} />
      <label for="pub-data">Data (JSON)</label>
      <textarea
        id="pub-data"
        rows={3}
        value={data}
        disabled={!!denied}
        onInput={(e) => setData(e.currentTarget.value)}
      />
      <button type="submit" class="btn primary" disabled={!!denied} title={denied} data-testid="publish">
        Publish
      </button>
      {result && (
        <p class={result.ok ? 'muted' : 'field-error'} role="status">
          {result.text}
        </p>
      )}
    </form>
  );
});
