/**
 * @module bench
 * `vigil bench [fanout|ingest|alerts] [-- args]`: runs `bench/<name>/run.ts` of the checkout that the working
 * directory is in (`node --import tsx bench/<name>/run.ts args`), passes its output through, and draws a progress
 * bar on stderr when stderr is a TTY: elapsed time against the run's usual length, with the bench's latest line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatSeconds, parseDuration, progressBar } from '../format.js';
import { CliError, Exit, type Io, type Output, UsageError } from '../io.js';
import { COMMON_HELP, outputStyle, parseCommand } from '../options.js';

/** About how long each bench takes with its defaults (bench/README.md), for the progress bar. */
export const EXPECTED_MS: Record<string, number> = { fanout: 150_000, ingest: 120_000, alerts: 90_000 };

export const BENCH_USAGE = `Usage: vigil bench [fanout|ingest|alerts] [--expect DURATION] [--no-progress] [-- bench args]

Runs bench/<name>/run.ts of the Vigil checkout you are in (default: fanout) with node --import tsx, passing its
output through and the arguments after -- to it. A progress bar on stderr (TTY only) shows the time elapsed against
the run's usual length: ${Object.entries(EXPECTED_MS)
  .map(([k, v]) => `${k} ~${formatSeconds(v / 1000)}`)
  .join(', ')}.
  --expect D      the expected length for the bar (90s, 5m)
  --no-progress   no progress bar
Exits 2 when there is no bench/<name>/run.ts in this directory or its parents, 1 when the bench fails.

${COMMON_HELP}`;

/** The nearest directory from `start` upwards that holds `bench/<name>/run.ts`. */
export function findBenchRoot(start: string, name: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'bench', name, 'run.ts'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** One progress line: `[######--------------] 30% 0:45 / ~2:30  [fanout] Vigil`, cut to `columns`. */
export function benchProgressLine(elapsedMs: number, expectedMs: number, status: string, columns = 100): string {
  const fraction = Math.min(0.99, elapsedMs / expectedMs);
  const head = `${progressBar(fraction, 20)} ${String(Math.floor(fraction * 100)).padStart(2)}% ${clock(elapsedMs)} / ~${clock(expectedMs)}`;
  const line = status ? `${head}  ${status}` : head;
  const width = columns >= 20 ? columns - 1 : 99; // a terminal without a size reports 0 columns
  return line.length > width ? line.slice(0, width) : line;
}

/** Redraws a bar on a TTY stream and clears it around passed-through output. */
class ProgressBar {
  private status = '';
  private drawn = false;
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(
    private readonly stream: Output & { columns?: number },
    private readonly expectedMs: number,
    private readonly dim: (text: string) => string,
  ) {
    this.timer = setInterval(() => this.draw(), 250);
    this.draw();
  }

  /** Writes complete output lines above the bar; the last non-empty one becomes the status. */
  pass(target: Output, text: string): void {
    this.clear();
    target.write(text);
    const last = text.trimEnd().split('\n').at(-1)?.trim();
    if (last) this.status = last;
    this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private draw(): void {
    const line = benchProgressLine(Date.now() - this.started, this.expectedMs, this.status, this.stream.columns);
    this.stream.write(`\r\x1b[K${this.dim(line)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

export async function bench(argv: string[], io: Io): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const extra = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseCommand('bench', own, {
    expect: { type: 'string' },
    'no-progress': { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(`${BENCH_USAGE}\n`);
    return Exit.OK;
  }
  if (positionals.length > 1)
    throw new UsageError(`unexpected argument '${positionals[1]}' (bench args go after --)`, 'bench');
  const name = positionals[0] ?? 'fanout';
  if (!Object.hasOwn(EXPECTED_MS, name)) {
    throw new UsageError(`unknown bench '${name}' (expected ${Object.keys(EXPECTED_MS).join(', ')})`, 'bench');
  }
  let expectedMs = EXPECTED_MS[name]!;
  if (values.expect !== undefined) {
    const ms = parseDuration(values.expect);
    if (!ms) throw new UsageError(`--expect: expected a duration like 90s or 5m, got '${values.expect}'`, 'bench');
    expectedMs = ms;
  }
  const root = findBenchRoot(io.cwd, name);
  if (!root) {
    throw new CliError(
      `no bench/${name}/run.ts in ${io.cwd} or its parents: run 'vigil bench' from a Vigil checkout`,
      Exit.USAGE,
    );
  }
  const style = outputStyle(own, io);
  const bar =
    io.stderr.isTTY && !values['no-progress']
      ? new ProgressBar(io.stderr, expectedMs, (t) => style.err('dim', t))
      : undefined;
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join('bench', name, 'run.ts'), ...extra], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  const pass = (target: Output, text: string) => (bar ? bar.pass(target, text) : target.write(text));
  const passLines = (stream: NodeJS.ReadableStream, target: Output) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const cut = text.lastIndexOf('\n') + 1;
      partial = text.slice(cut);
      if (cut > 0) pass(target, text.slice(0, cut));
    });
    stream.on('end', () => {
      if (partial) pass(target, `${partial}\n`);
    });
  };
  passLines(child.stdout, io.stdout);
  passLines(child.stderr, io.stderr);
  // Ctrl-C reaches the bench too (same process group); wait for it to stop rather than dying first.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
    child.once('error', rej);
    child.once('close', (c, s) => res([c, s]));
  }).finally(() => {
    process.off('SIGINT', ignore);
    bar?.stop();
  });
  const took = formatSeconds((Date.now() - started) / 1000);
  if (code === 0) {
    io.stderr.write(`${style.err('dim', `vigil: bench ${name} finished in ${took}`)}\n`);
    return Exit.OK;
  }
  io.stderr.write(`vigil: bench ${name} failed after ${took} (${signal ? `signal ${signal}` : `exit ${code}`})\n`);
  return Exit.RUNTIME;
}
