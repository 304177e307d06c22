/**
 * What a CLI command touches outside itself, passed in so tests can run commands in-process:
 * output streams, environment, working directory and the source of termination signals.
 */
import type { TerminalOut } from '../connectors/console/screen.ts';
import { PolaroidError } from '../pipeline/errors.ts';
import type { SignalTarget } from '../pipeline/shutdown.ts';

export interface CliOut extends TerminalOut {
  isTTY?: boolean;
}

export type Signal = 'SIGINT' | 'SIGTERM';

/** `process`, or an EventEmitter in tests (the same shape as `pipeline/shutdown.ts` takes). */
export type SignalSource = SignalTarget;

export interface CliIo {
  stdout: CliOut;
  stderr: CliOut;
  env: Record<string, string | undefined>;
  cwd: string;
  signals: SignalSource;
  /** End the process at once (after a forced stop, when handles may still be open). */
  exit?(code: number): void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signals: process,
    exit: (code) => process.exit(code),
  };
}

/** Exit codes: 0 success, 1 failure (invalid config, lint issues, runtime error), 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by a second Ctrl-C before the graceful shutdown finished (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export class UsageError extends PolaroidError {
  readonly code = 'CLI_USAGE';
  readonly retriable = false;
}

/**
 * Resolves with the first termination signal. `onRepeat` is called on each further signal
 * (a second Ctrl-C during a graceful stop means: stop now).
 */
export function waitForSignal(
  signals: SignalSource,
  onRepeat: (signal: Signal) => void,
): {
  signal: Promise<Signal>;
  dispose(): void;
} {
  let resolve: (s: Signal) => void = () => {};
  const signal = new Promise<Signal>((r) => {
    resolve = r;
  });
  let seen = false;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => {
    const fn = () => {
      if (seen) onRepeat(name);
      else {
        seen = true;
        resolve(name);
      }
    };
    signals.on(name, fn);
    return [name, fn] as const;
  });
  return {
    signal,
    dispose: () => {
      for (const [name, fn] of handlers) signals.off(name, fn);
    },
  };
}
