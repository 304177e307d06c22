/**
 * Signal handling for a running pipeline: the first SIGINT or SIGTERM starts a graceful stop and
 * exits when it finishes (0 if nothing was abandoned, 1 otherwise); a second signal exits at once
 * with 130, for an operator who does not want to wait for the shutdown deadline.
 */
import type { Logger } from './types.ts';

export interface Stoppable {
  stop(reason?: string): Promise<{ graceful: boolean; abandoned: { messages: number } }>;
}

/** The parts of `process` used here (a fake in tests). */
export interface SignalTarget {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface SignalOptions {
  logger?: Logger;
  target?: SignalTarget;
  exit?: (code: number) => void;
}

/** Install the handlers; returns a function that removes them. */
export function installSignalHandlers(pipeline: Stoppable, options: SignalOptions = {}): () => void {
  const target = options.target ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const logger = options.logger;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger?.warn('second signal: exiting without waiting for the shutdown', { signal });
      exit(130);
      return;
    }
    stopping = true;
    logger?.info('signal received: stopping', { signal });
    pipeline.stop(`signal ${signal}`).then(
      (report) => {
        const clean = report.graceful && report.abandoned.messages === 0;
        exit(clean ? 0 : 1);
      },
      (e: unknown) => {
        logger?.error('shutdown failed', { error: e });
        exit(1);
      },
    );
  };
  target.on('SIGINT', onSignal);
  target.on('SIGTERM', onSignal);
  return () => {
    target.off('SIGINT', onSignal);
    target.off('SIGTERM', onSignal);
  };
}
