/**
 * @module color
 * When to colour and with what. ANSI codes are used only when the stream is a TTY and `NO_COLOR` is unset (or
 * empty, as no-color.org says); `--color` and `--no-color` override both. Severities map to one colour each.
 */
import type { Output } from './io.js';

export type Tone = 'critical' | 'error' | 'warning' | 'info' | 'resolved' | 'dim';

const CODES: Record<Tone, string> = {
  critical: '\x1b[31m', // red
  error: '\x1b[35m', // magenta
  warning: '\x1b[33m', // yellow
  info: '\x1b[36m', // cyan
  resolved: '\x1b[32m', // green
  dim: '\x1b[2m',
};
const RESET = '\x1b[0m';

/** `flag` is true for `--color`, false for `--no-color`, undefined when neither was given. */
export function shouldColor(
  stream: Pick<Output, 'isTTY'>,
  env: Readonly<Record<string, string | undefined>>,
  flag: boolean | undefined,
): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

/** Reads `--color` / `--no-color` from raw arguments (before any `--`): the last one given wins. */
export function colorFlag(argv: readonly string[]): boolean | undefined {
  let flag: boolean | undefined;
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg === '--color') flag = true;
    else if (arg === '--no-color') flag = false;
  }
  return flag;
}

export type Paint = (tone: Tone | undefined, text: string) => string;

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_tone, text) => text;
  return (tone, text) => (tone ? `${CODES[tone]}${text}${RESET}` : text);
}

const SEVERITY_TONES: Record<string, Tone> = {
  critical: 'critical',
  error: 'error',
  warning: 'warning',
  info: 'info',
};

/** The tone of a severity name, or undefined for anything else. */
export function severityTone(severity: unknown): Tone | undefined {
  return typeof severity === 'string' && Object.hasOwn(SEVERITY_TONES, severity) ? SEVERITY_TONES[severity] : undefined;
}
