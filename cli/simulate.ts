/**
 * `polaroid simulate [options]`: run the built-in exchange simulator until Ctrl-C or SIGTERM.
 * Options are the simulator's own (`simulator/options.ts`).
 */
import { ExchangeSimulator, parseSimulateArgs, SimulateArgsError } from '../simulator/index.ts';
import { type CliIo, EXIT_OK, UsageError, waitForSignal } from './io.ts';

export async function simulateCommand(args: string[], io: CliIo): Promise<number> {
  let options: ReturnType<typeof parseSimulateArgs>;
  try {
    options = parseSimulateArgs(args);
  } catch (err) {
    if (err instanceof SimulateArgsError) throw new UsageError(err.message);
    throw err;
  }
  const signals = waitForSignal(io.signals, () => io.exit?.(130));
  try {
    const sim = await ExchangeSimulator.start(options);
    io.stderr.write(`polaroid simulate: feed at ${sim.url}, REST at ${sim.restUrl}/api/v1; Ctrl-C stops\n`);
    const signal = await signals.signal;
    io.stderr.write(`polaroid simulate: ${signal} received, stopping\n`);
    await sim.stop();
    return EXIT_OK;
  } finally {
    signals.dispose();
  }
}
