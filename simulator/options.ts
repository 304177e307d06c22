/**
 * Command-line options of `polaroid simulate`, parsed into {@link SimulatorOptions}. The CLI
 * calls `parseSimulateArgs(argv)` and `ExchangeSimulator.start(options)`.
 */
import { parseBytes, parseDuration } from '../config/units.ts';
import { PolaroidError } from '../pipeline/errors.ts';
import { FAULT_KINDS, type FaultKind, parseFault, type ScheduledFault } from './faults.ts';
import type { SimulatorOptions } from './server.ts';

export const SIMULATE_USAGE = `polaroid simulate [options]

Runs the built-in exchange simulator: WebSocket feed at ws://HOST:PORT/ws, REST history at
http://HOST:PORT/api/v1/{trades,klines}, faults via POST /control/fault, stats at GET /control/stats.

  --port N              TCP port (default 8765; 0 = any free port)
  --host H              listen address (default 127.0.0.1)
  --symbols A,B,...|N   symbol names, or a count of generated names (default 4 crypto pairs)
  --rate N              ticks per second, all symbols (default 1000)
  --seed N              PRNG seed; same seed, same ticks (default 1)
  --start-time T        exchange time of the first tick: epoch ms or ISO-8601 (default now)
  --batch-ticks N       send JSON arrays of up to N ticks per frame
  --numbers F           number | string | mixed: how prices and sizes are written (default number)
  --trade-share X       share of ticks that are trades, 0..1 (default 0.4)
  --api-key K           require {op:"auth", key:K} before subscribing (repeatable)
  --ping-interval D     server ping period, e.g. 10s (0 = off)
  --max-client-buffer B unsent bytes per client before the slow-client policy (default 8MiB)
  --slow-client P       disconnect | drop (default disconnect)
  --history-ticks N     ticks of REST history kept (default 16777216)
  --fault AT:KIND[:N]   scheduled fault at simulated offset AT (e.g. 30s), kind one of
                        ${FAULT_KINDS.join(', ')}; N = count (bytes for oversize, ms for stall)`;

export class SimulateArgsError extends PolaroidError {
  readonly code = 'SIM_BAD_ARGS';
  readonly retriable = false;
}

function durationMsArg(flag: string, text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const d = parseDuration(text);
  if (d?.months !== 0) throw new SimulateArgsError(`${flag} expects a duration such as 500ms or 10s`);
  return d.micros / 1000 + d.days * 86_400_000;
}

function intArg(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new SimulateArgsError(`${flag} expects an integer >= ${min}`);
  return n;
}

function faultArg(text: string): ScheduledFault {
  const [at, kind, n] = text.split(':');
  if (!at || !kind) throw new SimulateArgsError('--fault expects AT:KIND[:N], e.g. 30s:disconnect');
  const fault: Record<string, unknown> = { kind };
  if (n !== undefined) {
    const value = intArg('--fault N', n, 0);
    fault[kind === 'oversize' ? 'bytes' : kind === 'stall' ? 'ms' : 'count'] = value;
  }
  const checked = parseFault(fault);
  if (typeof checked === 'string') throw new SimulateArgsError(`--fault: ${checked}`);
  if (!FAULT_KINDS.includes(kind as FaultKind)) throw new SimulateArgsError(`--fault: unknown kind ${kind}`);
  return { ...checked, at: durationMsArg('--fault AT', at) };
}

/** Parse `polaroid simulate` arguments (without the command name). Throws SimulateArgsError. */
export function parseSimulateArgs(argv: readonly string[]): SimulatorOptions {
  const options: SimulatorOptions & { port: number } = { port: 8765 };
  const faults: ScheduledFault[] = [];
  const keys: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new SimulateArgsError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port':
        options.port = intArg(flag, value(), 0);
        break;
      case '--host':
        options.host = value();
        break;
      case '--symbols': {
        const v = value();
        options.symbols = /^\d+$/.test(v) ? intArg(flag, v, 1) : v.split(',').filter((s) => s !== '');
        break;
      }
      case '--rate': {
        const rate = Number(value());
        if (!(rate > 0)) throw new SimulateArgsError('--rate expects a positive number');
        options.rate = rate;
        break;
      }
      case '--seed':
        options.seed = intArg(flag, value(), 0);
        break;
      case '--start-time': {
        const v = value();
        const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
        if (!Number.isFinite(t))
          throw new SimulateArgsError('--start-time expects epoch ms or an ISO-8601 time');
        options.startTime = t;
        break;
      }
      case '--batch-ticks':
        options.batchTicks = intArg(flag, value(), 1);
        break;
      case '--numbers': {
        const v = value();
        if (v !== 'number' && v !== 'string' && v !== 'mixed') {
          throw new SimulateArgsError('--numbers expects number, string or mixed');
        }
        options.numbers = v;
        break;
      }
      case '--trade-share': {
        const x = Number(value());
        if (!(x >= 0 && x <= 1)) throw new SimulateArgsError('--trade-share expects a number in 0..1');
        options.tradeShare = x;
        break;
      }
      case '--api-key':
        keys.push(value());
        break;
      case '--ping-interval':
        options.pingIntervalMs = durationMsArg(flag, value());
        break;
      case '--max-client-buffer': {
        const b = parseBytes(value());
        if (b === undefined) throw new SimulateArgsError('--max-client-buffer expects a size such as 8MiB');
        options.maxClientBufferBytes = b;
        break;
      }
      case '--slow-client': {
        const v = value();
        if (v !== 'disconnect' && v !== 'drop')
          throw new SimulateArgsError('--slow-client expects disconnect or drop');
        options.slowClient = v;
        break;
      }
      case '--history-ticks':
        options.historyTicks = intArg(flag, value(), 1);
        break;
      case '--fault':
        faults.push(faultArg(value()));
        break;
      default:
        throw new SimulateArgsError(`unknown option ${arg} (see polaroid simulate --help)`);
    }
  }
  if (faults.length > 0) options.faults = faults;
  if (keys.length > 0) options.apiKeys = keys;
  return options;
}
