/**
 * @module options
 * Flag parsing shared by the commands: `node:util` parseArgs in strict mode plus the options every command takes
 * (`--url`, `--token`, `--help`, `--color`, `--no-color`), the hub target from flags or `VIGIL_URL`/`VIGIL_TOKEN`,
 * and the output settings that follow from them.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { colorFlag, type Paint, painter, shouldColor } from './color.js';
import { type Io, UsageError } from './io.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export const DEFAULT_URL = 'http://127.0.0.1:4280';

export const COMMON_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

export const COMMON_HELP = `Common options:
  --url URL       the hub (default ${DEFAULT_URL}, or VIGIL_URL)
  --token TOKEN   bearer token (or VIGIL_TOKEN)
  --color, --no-color   force colours on or off (default: on when stdout is a TTY and NO_COLOR is unset)
  -h, --help      this help`;

/** The parsed values of an options config: strings, booleans, or arrays of them for `multiple`. */
export type OptionValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: 'string'; multiple: true }
    ? string[]
    : O[K] extends { type: 'string' }
      ? string
      : O[K] extends { multiple: true }
        ? boolean[]
        : boolean;
};

/** Parses a command's flags (strict, positionals allowed); a bad flag is a usage error naming the command. */
export function parseCommand<const O extends ParseArgsOptionsConfig>(
  command: string,
  argv: string[],
  options: O,
): { values: OptionValues<typeof COMMON_OPTIONS & O>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values as OptionValues<typeof COMMON_OPTIONS & O>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

export interface Target {
  /** The hub's HTTP base URL, without a trailing slash. */
  url: string;
  token: string | undefined;
}

/** `--url` (or VIGIL_URL) as an HTTP base: `ws://h:p/ws` and `http://h:p/` both become `http://h:p`. */
export function hubTarget(values: { url?: string; token?: string }, env: Io['env']): Target {
  const raw = values.url ?? (env.VIGIL_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--url: invalid URL '${raw}'`);
  }
  if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
  else if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url: expected http(s):// or ws(s)://, got '${raw}'`);
  }
  let path = parsed.pathname.replace(/\/+$/, '');
  if (path.endsWith('/ws')) path = path.slice(0, -3);
  return { url: `${parsed.origin}${path}`, token: values.token ?? (env.VIGIL_TOKEN || undefined) };
}

export interface Style {
  /** Paints stdout text. */
  out: Paint;
  /** Paints stderr text. */
  err: Paint;
}

/** Colour decisions for both streams; `--json` output is never coloured. */
export function outputStyle(argv: readonly string[], io: Io, json = false): Style {
  const flag = colorFlag(argv);
  return {
    out: painter(!json && shouldColor(io.stdout, io.env, flag)),
    err: painter(shouldColor(io.stderr, io.env, flag)),
  };
}

/** Exactly `n` positionals, else a usage error naming what is missing or extra. */
export function expectPositionals(command: string, positionals: string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(positionals.length).join(' and ')}`, command);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument '${positionals[names.length]}'`, command);
  }
  return positionals;
}
