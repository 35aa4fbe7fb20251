/**
 * @module cli
 * The `vigil` dispatcher: picks the command, loads its module on demand (so `tail` does not load the hub), and maps
 * what it throws to a message on stderr and an exit code. `runCli` never exits the process; `main.ts` does.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { CliError, Exit, type Io, UsageError } from './io.js';
import { DEFAULT_URL } from './options.js';

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: {
    summary: 'start the hub (flags: vigil serve --help)',
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  agent: {
    summary: "stream this host's metrics to a hub: vigil agent --hub <url>",
    load: async () => {
      leanAgentRuntime();
      return (await import('./commands/agent.js')).agent;
    },
  },
  tail: {
    summary: 'stream channels live: vigil tail <pattern...>',
    load: async () => (await import('./commands/tail.js')).tail,
  },
  push: {
    summary: 'send a metric sample: vigil push <metric> <value>',
    load: async () => (await import('./commands/push.js')).push,
  },
  publish: {
    summary: 'publish an event: vigil publish <channel> <json>',
    load: async () => (await import('./commands/publish.js')).publish,
  },
  status: {
    summary: "the hub's statistics and host figures",
    load: async () => (await import('./commands/status.js')).status,
  },
  alerts: { summary: 'list or acknowledge alerts', load: async () => (await import('./commands/alerts.js')).alerts },
  tasks: {
    summary: 'list tasks with their progress, or show one',
    load: async () => (await import('./commands/tasks.js')).tasks,
  },
  bench: { summary: "run the checkout's benchmarks", load: async () => (await import('./commands/bench.js')).bench },
};

/**
 * V8 flags the agent sets for itself before it loads anything else: its code runs once a second, so V8's
 * optimising tiers (Sparkplug, Maglev, TurboFan) only cost memory, about 5 MB of RSS (their compiled code and the
 * compilers' own pages of the node binary), for no CPU saved worth having (docs/agent.md). These three are safe to
 * set after start-up; `--jitless` or `--lite-mode` (a little lower still) only at launch, through NODE_OPTIONS.
 * `VIGIL_AGENT_JIT=1` keeps V8's defaults.
 */
export const AGENT_V8_FLAGS = '--no-opt --no-maglev --no-sparkplug';

function leanAgentRuntime(): void {
  if (process.env.VIGIL_AGENT_JIT !== '1') setFlagsFromString(AGENT_V8_FLAGS);
}

export const EXIT_HELP = `Exit codes:
  0  success
  1  runtime or server error: hub unreachable, request rejected, bench failed
  2  usage error: unknown command, bad flag or argument; no bench in this checkout
  3  not found: unknown alert or task id, no active alert for the rule`;

export const USAGE = `Usage: vigil <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}

Every command but serve and bench talks to the hub at --url (default ${DEFAULT_URL}, or VIGIL_URL) with --token
(or VIGIL_TOKEN). 'vigil <command> --help' shows a command's flags. Hub errors print as 'vigil: <code>: <message>'.

${EXIT_HELP}`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) return runCli([topic, '--help'], io);
    (name === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return name === undefined ? Exit.USAGE : Exit.OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`vigil ${version()}\n`);
    return Exit.OK;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.stderr.write(`vigil: unknown command '${name}'; run 'vigil --help'\n`);
    return Exit.USAGE;
  }
  try {
    const command = await COMMANDS[name]!.load();
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`vigil ${err.command ?? name}: ${err.message}\nRun 'vigil ${err.command ?? name} --help'.\n`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.stderr.write(`vigil: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
