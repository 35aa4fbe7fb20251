/**
 * @module tail
 * `vigil tail <pattern...>`: a live stream in the terminal through `@vigil/client`, so it reconnects and resumes
 * from its last offsets. One line per event (or the raw event frame with `--json`) on stdout; connection state
 * changes, gaps and errors on stderr. `--since` prints history first: the subscription starts at once and buffers
 * live events until the history is out, then skips those the history already covered, so nothing is missed or
 * printed twice. SIGINT and SIGTERM end it with exit 0.
 */
import { type GapContext, VigilClient, type VigilEvent } from '@vigil/client';
import { type Filter, isValidPattern, validateClientFrame } from '@vigil/protocol';
import { type History, type HistoryEvent, loadHistory, parseSince, type Since } from '../history.js';
import { HubApi } from '../http.js';
import { Exit, type Io, UsageError } from '../io.js';
import { COMMON_HELP, hubTarget, outputStyle, parseCommand, type Style } from '../options.js';
import { eventFrameJson, renderEventLine, renderSnapshotLine, snapshotFrameJson } from '../render.js';

export const TAIL_USAGE = `Usage: vigil tail <pattern...> [--filter JSON] [--json] [--since N|DURATION]

Streams events live, one line each: time, channel, kind and the data (metric_update as name{labels} = value,
alert as status severity rule{labels} value, task_update as name progress% eta, incident_* as id "title" status
priority, anything else as compact JSON), coloured by severity. It reconnects and resumes on its own; Ctrl-C ends it.
  <pattern>       channels or patterns: metrics.>, alerts, orders.*.eu ... ('*' one segment, '>' the rest)
  --filter JSON   a subscription filter: {"kinds":[...],"ids":[...],"min_severity":"error","states":[...],"labels":{...}}
  --json          print each event as its raw event frame, one JSON object per line (and the snapshot
                  frame of a stateful channel subscribed by name, such as system.status)
  --since N       first print each channel's history after offset N
  --since 5m      first print the events of the last 5 minutes (ms, s, m, h, d; 1h30m)

${COMMON_HELP}`;

/** Resolves when the process is asked to stop. */
function processStop(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}

function parseFilter(text: string | undefined, patterns: string[]): Filter | undefined {
  if (text === undefined) return undefined;
  let filter: unknown;
  try {
    filter = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--filter is not valid JSON: ${(err as Error).message}`, 'tail');
  }
  const check = validateClientFrame({ op: 'subscribe', channels: patterns, filter });
  if (!check.ok) throw new UsageError(check.message.replace(/^subscribe: \/filter/, '--filter'), 'tail');
  return filter as Filter;
}

function gapLine(g: GapContext): string {
  if (g.reason === 'epoch_changed') return `vigil: gap on ${g.channel}: the channel restarted (new epoch)`;
  return `vigil: gap on ${g.channel}: offsets ${g.from}..${g.to} missed (${g.reason})`;
}

export async function tail(argv: string[], io: Io, stop: AbortSignal = processStop()): Promise<number> {
  const { values, positionals: patterns } = parseCommand('tail', argv, {
    filter: { type: 'string' },
    json: { type: 'boolean' },
    since: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${TAIL_USAGE}\n`);
    return Exit.OK;
  }
  if (patterns.length === 0) throw new UsageError('missing <pattern>', 'tail');
  for (const p of patterns) {
    if (!isValidPattern(p)) {
      throw new UsageError(`invalid pattern '${p}': segments of [A-Za-z0-9_:-] joined by dots, '*', '>' last`, 'tail');
    }
  }
  const filter = parseFilter(values.filter, patterns);
  let since: Since | undefined;
  if (values.since !== undefined) {
    since = parseSince(values.since);
    if (!since)
      throw new UsageError(`--since: expected an offset or a duration like 5m, got '${values.since}'`, 'tail');
  }
  const target = hubTarget(values, io.env);
  const style = outputStyle(argv, io, values.json);
  return run({ io, style, patterns, filter, since, json: values.json === true, api: new HubApi(target), stop });
}

interface RunOptions {
  io: Io;
  style: Style;
  patterns: string[];
  filter: Filter | undefined;
  since: Since | undefined;
  json: boolean;
  api: HubApi;
  stop: AbortSignal;
}

function run(o: RunOptions): Promise<number> {
  const { io, style } = o;
  const note = (text: string) => io.stderr.write(`${style.err('dim', text)}\n`);
  const warn = (text: string) => io.stderr.write(`${style.err('warning', text)}\n`);
  const print = (e: HistoryEvent) => io.stdout.write(`${o.json ? eventFrameJson(e) : renderEventLine(e, style.out)}\n`);

  const token = o.api.target.token;
  const client = new VigilClient({ url: o.api.target.url, getToken: token ? () => token : undefined });
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      client.close();
      resolve(code);
    };
    if (o.stop.aborted) return finish(Exit.OK);
    o.stop.addEventListener('abort', () => finish(Exit.OK), { once: true });

    let everConnected = false;
    client.on('state', ({ newState, code, reason }) => {
      const why = code ? ` (${code}${reason ? ` ${reason}` : ''})` : '';
      const url = o.api.target.url;
      if (newState === 'connecting') note(`vigil: connecting to ${url}`);
      else if (newState === 'reconnecting' && !everConnected) note(`vigil: cannot reach ${url}${why}; retrying`);
      else if (newState === 'reconnecting') note(`vigil: connection lost${why}; reconnecting`);
      else if (newState === 'disconnected') {
        warn(`vigil: the hub closed the connection for good${why}`);
        finish(Exit.RUNTIME);
      }
    });
    client.on('connected', ({ node, reconnected }) => {
      everConnected = true;
      note(`vigil: ${reconnected ? 'reconnected' : 'connected'} to ${o.api.target.url} (node ${node})`);
    });
    client.on('error', ({ error }) => warn(`vigil: ${error.code}: ${error.message}`));

    // Live events wait here while --since history loads.
    let buffer: VigilEvent[] | undefined = o.since ? [] : undefined;
    let covered: History['positions'] = new Map();
    const sub = client.subscribe(o.patterns, o.filter ? { filter: o.filter } : {});
    sub.on('event', (e) => {
      if (buffer) buffer.push(e);
      else print(e);
    });
    sub.on('snapshot', (snap) =>
      io.stdout.write(`${o.json ? snapshotFrameJson(snap) : renderSnapshotLine(snap, style.out)}\n`),
    );
    sub.on('gap', (g) => warn(gapLine(g)));
    sub.on('error', ({ error, willRetry }) => {
      warn(`vigil: ${error.code}: ${error.message}${willRetry ? ' (retrying)' : ''}`);
      if (!willRetry) finish(Exit.RUNTIME);
    });
    let historyStarted = false;
    sub.on('subscribed', () => {
      if (!o.since || historyStarted) return;
      historyStarted = true;
      loadHistory({
        patterns: o.patterns,
        since: o.since,
        filter: o.filter,
        api: o.api,
        call: (params) => client.call('channels.history', params),
      }).then(
        (history) => {
          for (const e of history.events) print(e);
          for (const c of history.truncated) warn(`vigil: history of ${c} cut at 10000 events`);
          covered = history.positions;
          flush();
        },
        (err: unknown) => {
          warn(`vigil: history: ${(err as Error).message}`);
          flush();
        },
      );
    });
    const flush = () => {
      const pending = buffer ?? [];
      buffer = undefined;
      for (const e of pending) {
        const seen = covered.get(e.channel);
        if (seen && seen.epoch === e.epoch && e.offset <= seen.offset) continue;
        print(e);
      }
    };
    client.connect();
  });
}
