#!/usr/bin/env node
/**
 * @module main
 * The `vigil` command. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
 */
import { SERVE_USAGE, serve } from './serve.js';

const USAGE = `Usage: vigil <command> [options]

Commands:
  serve     start the hub

${SERVE_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`vigil: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vigil: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
