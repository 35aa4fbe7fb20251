/**
 * @module io
 * What every command runs with: its output streams, environment and working directory (so tests can capture them),
 * the exit codes, and the errors that map onto them.
 */

/** Exit codes of `vigil`, documented in docs/cli.md and `vigil --help`. */
export const Exit = {
  OK: 0,
  /** Runtime or server error: hub unreachable, request rejected, bench failed. */
  RUNTIME: 1,
  /** Usage error: bad flags or arguments, unknown command. */
  USAGE: 2,
  /** Not found: unknown alert or task id, no active alert for a rule. */
  NOT_FOUND: 3,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** A failure with a message for the user and the exit code it ends with. Printed as `vigil: <message>`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = Exit.RUNTIME,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad flags or arguments: exit 2, with a pointer to the command's help. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, Exit.USAGE);
    this.name = 'UsageError';
  }
}

/** An error answer from the hub (`{error: {code, message, details}}`). Printed as `vigil: <code>: <message>`. */
export class HubError extends CliError {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(`${code}: ${message}`, code === 'not_found' ? Exit.NOT_FOUND : Exit.RUNTIME);
    this.name = 'HubError';
  }
}
