/**
 * `polaroid demo`: the self-contained tour behind `npm start`. Starts the exchange simulator
 * in-process on a free loopback port, points `FEED_URL` at it and runs `examples/demo.yaml`
 * (or `--config <file>`). Nothing outside this process is needed: no network, no servers.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExchangeSimulator } from '../simulator/index.ts';
import { type CliIo, UsageError } from './io.ts';
import { parseFor, runPipelineFile } from './run.ts';

export const DEMO_CONFIG = resolve(import.meta.dirname, '../examples/demo.yaml');

export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      for: { type: 'string' },
      config: { type: 'string' },
      rate: { type: 'string' },
      'no-status': { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  const forMs = parseFor(values.for);
  const rate = values.rate === undefined ? 2000 : Number(values.rate);
  if (!(rate > 0)) throw new UsageError(`--rate expects a positive number of ticks per second`);
  const sim = await ExchangeSimulator.start({ host: '127.0.0.1', port: 0, rate, seed: 1 });
  try {
    const env = {
      ...io.env,
      FEED_URL: sim.url,
      // A fixed metrics port may be taken on this machine; the chosen one is printed.
      METRICS_LISTEN: io.env.METRICS_LISTEN ?? '127.0.0.1:0',
    };
    return await runPipelineFile(values.config ?? DEMO_CONFIG, io, {
      env,
      forMs,
      status: !values['no-status'],
      banner: [`polaroid demo: exchange simulator at ${sim.url} (${rate} ticks/s, seed 1)`],
    });
  } finally {
    await sim.stop();
  }
}
