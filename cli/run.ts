/**
 * `polaroid run <config>`: load and validate the file, build the pipeline from the default
 * registry, serve /metrics and health when `http:` is set, and run until Ctrl-C, SIGTERM,
 * `--for` elapsing or a fatal error; then stop gracefully (the runtime drains, writes and acks
 * within `shutdown.timeout`). On a terminal one status line is redrawn below the output.
 */
import { parseArgs } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { defaultRegistry } from '../config/default-registry.ts';
import { ConfigError, formatIssues } from '../config/issues.ts';
import { loadConfig } from '../config/load.ts';
import type { PipelineConfig } from '../config/pipeline-config.ts';
import type { Registry } from '../config/registry.ts';
import { fixedMicros, parseDuration } from '../config/units.ts';
import { type LiveScreen, screenFor } from '../connectors/console/screen.ts';
import { systemClock } from '../pipeline/clock.ts';
import { createJsonDecoder } from '../pipeline/decode/json.ts';
import { createLogger, type StructuredLogger } from '../pipeline/logger.ts';
import { createPipeline, type Pipeline } from '../pipeline/runtime.ts';
import { installSignalHandlers } from '../pipeline/shutdown.ts';
import { type HttpServerHandle, startHttpServer } from '../server/http.ts';
import { type CliIo, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError } from './io.ts';
import { statusLine } from './status.ts';

export interface RunOptions {
  /** Stop gracefully after this many milliseconds. */
  forMs?: number;
  /** Draw the status line on a terminal. */
  status: boolean;
  /** Environment used for `${VAR}` interpolation (default: the process's). */
  env?: Record<string, string | undefined>;
  /** Lines printed once the pipeline runs (e.g. where the simulator listens). */
  banner?: string[];
  /** Components to build from (default: every built-in one). */
  registry?: Registry;
}

/** Parse `--for <duration>` into milliseconds. */
export function parseFor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const d = parseDuration(text);
  if (d?.months !== 0) throw new UsageError(`--for expects a duration such as 10s or 1m, got "${text}"`);
  return fixedMicros(d) / 1000;
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { for: { type: 'string' }, 'no-status': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('run needs exactly one config file');
  return runPipelineFile(positionals[0], io, { forMs: parseFor(values.for), status: !values['no-status'] });
}

/** The terminal the live area is drawn on: stdout when it is one, else stderr when it is one. */
function liveScreen(io: CliIo): LiveScreen | undefined {
  const out = io.stdout.isTTY ? io.stdout : io.stderr.isTTY ? io.stderr : undefined;
  return out ? screenFor(out, asyncScheduler) : undefined;
}

function describe(config: PipelineConfig): string {
  const names = (r: Record<string, unknown>) => Object.keys(r).join(', ') || 'none';
  return `sources: ${names(config.sources)}; streams: ${names(config.streams)}; sinks: ${names(config.sinks)}`;
}

export async function runPipelineFile(file: string, io: CliIo, opts: RunOptions): Promise<number> {
  const registry = opts.registry ?? defaultRegistry();
  let config: PipelineConfig;
  try {
    config = loadConfig(file, registry, opts.env ?? io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${formatIssues(err.issues)}\n`);
    io.stderr.write(`polaroid run: ${file} is not valid; nothing was started\n`);
    return EXIT_FAILURE;
  }

  const screen = liveScreen(io);
  const say = (line: string) => (screen ? screen.print(line) : io.stderr.write(`${line}\n`));
  const logStream =
    screen && io.stderr.isTTY ? { write: (s: string) => screen.print(s), isTTY: true } : io.stderr;
  const logger: StructuredLogger = createLogger({ stream: logStream });

  const pipeline: Pipeline = createPipeline(config, registry, {
    clock: systemClock,
    logger,
    decoder: (_name, source) =>
      createJsonDecoder(source.schema, source.decode, { capacity: source.batch.count }),
  });

  // The runtime's handlers: the first signal stops gracefully, a second one exits with 130.
  let exitWith: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    exitWith = resolve;
  });
  const removeSignalHandlers = installSignalHandlers(pipeline, {
    logger,
    target: io.signals,
    exit: (code) => {
      if (code === EXIT_INTERRUPTED) io.exit?.(code);
      exitWith(code);
    },
  });
  let http: HttpServerHandle | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    await pipeline.start();
    if (config.http) http = await startHttpServer({ listen: config.http.listen, pipeline });
    for (const line of opts.banner ?? []) say(line);
    say(`polaroid: running ${file} (${describe(config)})`);
    if (http) say(`polaroid: metrics at ${http.url}/metrics, health at ${http.url}/health/ready`);
    say('polaroid: Ctrl-C stops gracefully');

    let failed = false;
    const fatal = new Promise<'failed'>((resolve) => {
      ticker = setInterval(() => {
        const status = pipeline.status();
        if (screen && opts.status) screen.set('status', [statusLine(status)], 100);
        if (status.state === 'failed') {
          failed = true;
          resolve('failed');
        }
      }, 1000);
    });
    const timeUp =
      opts.forMs === undefined
        ? new Promise<never>(() => {})
        : new Promise<'time'>((resolve) => setTimeout(() => resolve('time'), opts.forMs).unref());
    const why = await Promise.race([exited, fatal, timeUp]);
    if (typeof why === 'number') return why;
    const reason = why === 'failed' ? 'a component failed' : '--for elapsed';
    say(`polaroid: stopping (${reason})`);
    const stopped = await Promise.race([pipeline.stop(reason), exited]);
    if (typeof stopped === 'number') return stopped;
    if (!stopped.graceful)
      say(`polaroid: shutdown deadline passed; ${stopped.abandoned.messages} messages nacked`);
    const clean = stopped.graceful && stopped.abandoned.messages === 0;
    return failed || !clean ? EXIT_FAILURE : EXIT_OK;
  } catch (err) {
    logger.error('pipeline failed', { error: err });
    await pipeline.stop('start failed').catch(() => {});
    return EXIT_FAILURE;
  } finally {
    if (ticker) clearInterval(ticker);
    removeSignalHandlers();
    await http?.close();
    if (screen) {
      screen.remove('status');
      screen.flush();
    }
  }
}
