/**
 * @module burst-clients
 * Test support, run as a child process: opens N WebSocket clients subscribed at connect time, checks that each one
 * receives offsets 1..expected of one channel in order (reading only the offset out of each frame), and prints one
 * JSON line of results. Usage: burst-clients <wsUrl> <clients> <channel> <expected> <timeoutMs>
 */
import WebSocket from 'ws';

const [url, countText, channel, expectedText, timeoutText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const count = Number(countText);
const expected = Number(expectedText);
const OFFSET = Buffer.from('"offset":');

interface ClientState {
  last: number;
  disorder: number;
  gaps: number;
}

const states: ClientState[] = [];
let complete = 0;
let opened = 0;

function offsetOf(buf: Buffer): number {
  const at = buf.indexOf(OFFSET);
  if (at < 0) return -1;
  let n = 0;
  for (let i = at + OFFSET.length; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

function finish(): void {
  const summary = {
    clients: count,
    complete,
    disorder: states.reduce((n, s) => n + s.disorder, 0),
    gaps: states.reduce((n, s) => n + s.gaps, 0),
    min_last: Math.min(...states.map((s) => s.last)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

// Not unref'd: the summary is printed even when the hub closes every connection.
setTimeout(finish, Number(timeoutText));

for (let i = 0; i < count; i++) {
  const state: ClientState = { last: 0, disorder: 0, gaps: 0 };
  states.push(state);
  const ws = new WebSocket(`${url}?channels=${channel}`);
  ws.on('message', (data: Buffer) => {
    if (data[2] !== 0x74 || data[3] !== 0x79) return; // not {"type":...
    if (data.includes('"type":"gap"')) {
      state.gaps++;
      return;
    }
    if (!data.includes('"type":"event"')) return;
    const offset = offsetOf(data);
    if (offset !== state.last + 1) state.disorder++;
    state.last = offset;
    if (offset === expected) {
      complete++;
      ws.close();
      if (complete === count) finish();
    }
  });
  ws.on('open', () => {
    opened++;
    if (opened === count) process.stdout.write('ready\n');
  });
  ws.on('error', (err) => process.stderr.write(`client ${i}: ${err.message}\n`));
}
