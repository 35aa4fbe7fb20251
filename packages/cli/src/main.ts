#!/usr/bin/env node
/**
 * @module main
 * The `vigil` binary: runs the command and exits with its code (see `EXIT_HELP` in cli.ts and docs/cli.md).
 */
import { runCli } from './cli.js';
import { processIo } from './io.js';

// `vigil tail ... | head` closes the pipe early: that is a normal end, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

runCli(process.argv.slice(2), processIo()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vigil: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
