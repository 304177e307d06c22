/**
 * `polaroid` command line: run a pipeline file, lint config files, start the exchange simulator,
 * or run the self-contained demo. `bin/polaroid.js` calls {@link main} and exits with its code.
 */

import { redactUrl } from '../config/redact.ts';
import { SIMULATE_USAGE } from '../simulator/index.ts';
import { demoCommand } from './demo.ts';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo, UsageError } from './io.ts';
import { lintCommand } from './lint.ts';
import { runCommand } from './run.ts';
import { simulateCommand } from './simulate.ts';

export const HELP = `polaroid: streaming time-series engine for live market data

Usage:
  polaroid run <config.yaml> [--for <duration>] [--no-status]
      Run the pipeline in the file until Ctrl-C (or SIGTERM), then stop gracefully:
      inputs stop, batches in flight are written, acks are sent. A second Ctrl-C stops at once.
      On a terminal a status line shows rows/s per source, batches, gaps and drops.
  polaroid lint <config.yaml|folder>...
      Check config files (folders: every .yaml/.yml file in them) without starting anything;
      prints file:line:col: path: message for each problem.
      Exits 1 when any file has a problem, 0 when all are clean.
  polaroid simulate [--host 127.0.0.1] [--port 8765] [--symbols BTC-USD,ETH-USD,SOL-USD]
                    [--rate 1000] [--seed 1]
      Start the built-in exchange simulator (WebSocket trades and quotes, REST history) until
      Ctrl-C. polaroid simulate --help lists every option (faults, auth, number formats).
  polaroid demo [--for <duration>]
      Start the simulator in-process on a free loopback port and run examples/demo.yaml
      against it. Needs no network and no servers.
  polaroid help | --help | -h

Options:
  --for <duration>   Stop gracefully after this long (e.g. 10s, 1m); default: until Ctrl-C.
  --no-status        Do not draw the live status line.

Environment:
  POLAROID_LOG_LEVEL  debug | info | warn | error (default info). Logs go to stderr.

Exit codes: 0 success, 1 failure (invalid config, lint problems, runtime error),
2 bad usage, 130 stopped by a second Ctrl-C.
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: runCommand,
  lint: lintCommand,
  simulate: simulateCommand,
  demo: demoCommand,
};

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`polaroid: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    io.stderr.write('Run polaroid --help for usage.\n');
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(name === 'simulate' ? `${SIMULATE_USAGE}\n` : HELP);
    return EXIT_OK;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      io.stderr.write(`polaroid ${name}: ${(err as Error).message}\nRun polaroid --help for usage.\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`polaroid ${name}: ${describeError(err)}\n`);
    return EXIT_FAILURE;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** One line for an error: its message with URL passwords masked, and its code when it has one. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return redactUrl(String(err));
  const code = (err as { code?: unknown }).code;
  const message = redactUrl(err.message);
  return typeof code === 'string' ? `${message} [${code}]` : message;
}
