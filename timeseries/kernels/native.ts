/**
 * The native kernels: the C versions of a few hot loops (timeseries/kernels/native/), loaded as
 * one Node-API addon when it was built on this machine (`npm install` builds it when a C compiler
 * and the Node.js headers are there; `npm run native` builds it by hand). Each kernel has a
 * TypeScript twin with the same contract and results, which runs when the addon is absent, stale
 * (built from other sources) or disabled with `POLAROID_NATIVE=0`. Tests check both against each
 * other.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FusedPart, PartRange } from './asof-fused.ts';
import type { MergeEntry } from './asof-state.ts';
import { ADDON_PATH, readStamp, type Stamp, sourceHash } from './native/build.ts';

/**
 * The fused backward as-of merge's part as the C kernel takes it: the fields of `FusedPart`
 * (asof-fused.ts) with the value columns as one list and their widths in bytes a row (1, 2, 4 or
 * 8); both sides' keys or neither.
 */
export type NativeFusedPart = Omit<FusedPart, 'columns'> & {
  sources: ArrayBufferView[];
  outputs: ArrayBufferView[];
  widths: number[];
  /**
   * When given, the merge runs over each range instead of `from`..`jTo`, one thread each (the
   * calling thread takes the last): disjoint, in order, each starting at a multiple of 8.
   */
  ranges?: readonly PartRange[];
};

/**
 * `mergeMatchCarried` (asof-state.ts) as the C kernel takes it: left rows `from..stop-1` (keys
 * undefined: every row has key 0), the merge's log and match cursor (`[entry, row]`, read at the
 * start and written at the end), the cursor's per-key state (`AsofMerge` mTs, mSlot, mRowOf, mV0,
 * mV1, of one length; key `k` at `k + 1`, the sink at 0) and the outputs of the one or two carried
 * columns. Each entry from the cursor on must have its `vals`.
 */
export interface NativeMergeCarried {
  on: Float64Array;
  keys: Int32Array | undefined;
  from: number;
  stop: number;
  allowExactMatches: boolean;
  tolerance: number;
  log: readonly MergeEntry[];
  cursor: Int32Array;
  ts: Float64Array;
  slot: Int32Array;
  row: Int32Array;
  v0: Float64Array;
  v1: Float64Array;
  outputs: Float64Array[];
  bits: Uint8Array;
}

/**
 * `appendInOrder` (asof-state.ts) as the C kernel takes it: `rows` int64 `on` values (as word
 * pairs) and key ids of a right batch, the log entry's `on`, key ids and ranks to fill, and the
 * merge's per-key `count` and `appended`.
 */
export interface NativeAppend {
  values: Int32Array;
  keys: Int32Array;
  on: Float64Array;
  entryKeys: Int32Array;
  rank: Int32Array;
  count: Int32Array;
  appended: Int32Array;
  rows: number;
  max: number;
  maxRows: number;
}

/** `sortedInt64Late` (asof-state.ts) as the C kernel takes it: `rows` int64 values as word pairs. */
export interface NativeScan {
  values: Int32Array;
  rows: number;
  output: Float64Array;
  max: number;
  lateness: number;
}

export interface NativeKernels {
  /**
   * Returns the unmatched left row count (of all ranges), or -1 when the input is not in global
   * order. Throws a TypeError or RangeError for a malformed part (an array shorter than its rows).
   */
  asofBackwardFused(part: NativeFusedPart): number;
  /**
   * Returns the unmatched left row count. Throws a TypeError or RangeError for a malformed call (an
   * array shorter than its rows, a key id or cursor out of range); a log entry is checked when the
   * match reaches it.
   */
  asofMergeCarried(part: NativeMergeCarried): number;
  /** Returns the first row not appended. Throws a TypeError or RangeError for a malformed call. */
  asofAppendInOrder(part: NativeAppend): number;
  /**
   * Returns the late row count, or -1 when the values are not in order (or none, or the lateness is
   * not >= 0). Throws a TypeError for a malformed call.
   */
  asofScanSortedInt64(part: NativeScan): number;
}

export interface NativeStatus {
  loaded: boolean;
  /** Why the TypeScript kernels run instead, when not loaded. */
  reason?: string;
  path: string;
}

let state: { kernels: NativeKernels | undefined; status: NativeStatus } | undefined;
let enabled: boolean | undefined;

/**
 * Why an addon may not be loaded, or undefined when it may: disabled by `env`, not built, or
 * built from other sources than `hash` (its stamp says which).
 */
export function addonProblem(
  env: NodeJS.ProcessEnv,
  exists: boolean,
  stamp: Stamp | undefined,
  hash: string,
): string | undefined {
  if (env.POLAROID_NATIVE === '0') return 'disabled by POLAROID_NATIVE=0';
  if (!exists) return 'not built (npm run native)';
  if (stamp?.sources !== hash) return 'built from other sources than these; rebuild with npm run native';
  return undefined;
}

function load(): { kernels: NativeKernels | undefined; status: NativeStatus } {
  const path = ADDON_PATH;
  const off = (reason: string) => ({ kernels: undefined, status: { loaded: false, reason, path } });
  const problem = addonProblem(process.env, existsSync(path), readStamp(), sourceHash());
  if (problem !== undefined) return off(problem);
  try {
    const kernels = createRequire(import.meta.url)(path) as NativeKernels;
    return { kernels, status: { loaded: true, path } };
  } catch (e) {
    return off(`could not be loaded: ${(e as Error).message}`);
  }
}

/** The native kernels, or undefined when the TypeScript ones run (see {@link nativeStatus}). */
export function nativeKernels(): NativeKernels | undefined {
  if (enabled === false) return undefined;
  state ??= load();
  return state.kernels;
}

/**
 * Turn the native kernels off (`false`) for this thread, or back to the default (`undefined`):
 * tests and benchmarks compare both kernels in one process. Pool workers keep their own setting.
 */
export function setNativeEnabled(on: false | undefined): void {
  enabled = on;
}

/** Whether the native kernels are in use, and why not. */
export function nativeStatus(): NativeStatus {
  state ??= load();
  return state.status;
}
