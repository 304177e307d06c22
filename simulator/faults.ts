/**
 * Faults the simulator can inject, on command (`inject`, `POST /control/fault`) or on a schedule
 * (`faults: [{at, ...fault}]`, `at` in ms of simulated time after `startTime`).
 */
import type { Channel } from './market.ts';

export type Fault =
  /** Close every (or one) client: `close` sends 1012 (service restart), `reset` destroys the TCP socket. */
  | { kind: 'disconnect'; mode?: 'close' | 'reset'; client?: number }
  /** Stay connected but go silent: no data, no pongs, no pings, for `ms` (default: until the client leaves). */
  | { kind: 'stall'; ms?: number; client?: number }
  /** Do not publish the next `count` ticks (of `symbol` / `channel` if given): receivers see a sequence gap. */
  | { kind: 'gap'; count?: number; symbol?: string; channel?: Channel }
  /** Send the next `count` messages truncated (invalid JSON). */
  | { kind: 'malformed'; count?: number }
  /** Publish `count` extra ticks at once (simulated time jumps ahead). */
  | { kind: 'burst'; count?: number }
  /** Send one text frame of `bytes` bytes (to test receivers' max payload). */
  | { kind: 'oversize'; bytes: number };

export type FaultKind = Fault['kind'];
export const FAULT_KINDS: readonly FaultKind[] = [
  'disconnect',
  'stall',
  'gap',
  'malformed',
  'burst',
  'oversize',
];

export type ScheduledFault = Fault & { at: number };

/** Checks an untrusted fault description (from HTTP or the CLI); returns an error message or the fault. */
export function parseFault(value: unknown): Fault | string {
  if (typeof value !== 'object' || value === null) return 'a fault is an object with a kind';
  const v = value as Record<string, unknown>;
  if (!FAULT_KINDS.includes(v.kind as FaultKind))
    return `fault kind must be one of ${FAULT_KINDS.join(', ')}`;
  const int = (name: string, min: number): string | undefined => {
    const x = v[name];
    if (x === undefined) return undefined;
    return Number.isInteger(x) && (x as number) >= min ? undefined : `${name} must be an integer >= ${min}`;
  };
  for (const [name, min] of [
    ['count', 1],
    ['ms', 0],
    ['client', 0],
    ['bytes', 0],
  ] as const) {
    const err = int(name, min);
    if (err) return err;
  }
  if (v.kind === 'oversize' && v.bytes === undefined) return 'oversize needs bytes';
  if (v.mode !== undefined && v.mode !== 'close' && v.mode !== 'reset') return 'mode must be close or reset';
  if (v.channel !== undefined && v.channel !== 'trades' && v.channel !== 'quotes') {
    return 'channel must be trades or quotes';
  }
  if (v.symbol !== undefined && typeof v.symbol !== 'string') return 'symbol must be a string';
  return v as Fault;
}
