/**
 * As-of join kernel (Polars `join_asof_impl` semantics) over typed arrays: for every left row, the
 * index of the matching right row, or -1.
 *
 * - `backward`: the last right row with `on <= left` (`<` without exact matches). With equal
 *   right values the last one wins.
 * - `forward`: the first right row with `on >= left` (`>` without exact matches).
 * - `nearest`: the right row with the smallest `|left - right|`. As in Polars (`AsofJoinNearestState`,
 *   "ties broken towards the last element"): on a tie between a smaller and a larger right value
 *   the larger (later) one wins, and among equal right values the last one wins. Without exact
 *   matches, right values equal to the left value are skipped.
 * - `tolerance` (inclusive, all strategies): a match needs `|left - right| <= tolerance`.
 * - Keys (`by`): rows match only within the same key code. Codes are dense ids shared by both
 *   sides (`0 <= code < nKeys`); a negative code (null key) never matches.
 * - NaN `on` values: a NaN left row gets -1; a NaN right row is never matched. Both are skipped by
 *   the sortedness check.
 *
 * `on` values are float64, or int64 (`BigInt64Array`, e.g. µs timestamps; exact below 2^53).
 *
 * Input must be sorted by `on` within each key, on both sides; otherwise {@link AsofUnsortedError}
 * is thrown naming the side, the row and the key. The work is one counting-sort pass that lays the
 * right rows out per key, then one merge pass over the left with a cursor per key.
 */

import { PolaroidError } from '../../pipeline/errors.ts';
import { int64ToFloat64 } from './int64.ts';

export type AsofStrategy = 'backward' | 'forward' | 'nearest';

export interface AsofKernelOptions {
  strategy?: AsofStrategy;
  /** Inclusive bound on `|left - right|`, in the unit of `on`; default: none. */
  tolerance?: number;
  /** Whether a right value equal to the left value can match (default true). */
  allowExactMatches?: boolean;
  /** Key codes of the left rows (`by`); with `rightKeys` and `nKeys`. */
  leftKeys?: Int32Array;
  rightKeys?: Int32Array;
  /** Number of distinct key codes over both sides (codes are `0..nKeys-1`). */
  nKeys?: number;
}

/** Input not sorted by `on` within a key. `row` follows `previousRow` but has a smaller value. */
export class AsofUnsortedError extends PolaroidError {
  readonly code = 'ASOF_UNSORTED';
  readonly retriable = false;
  constructor(
    message: string,
    readonly side: 'left' | 'right',
    readonly row: number,
    readonly previousRow: number,
    /** Key code of the group, or -1 without keys. */
    readonly key: number,
  ) {
    super(message);
  }
}

function unsorted(side: 'left' | 'right', row: number, prev: number, key: number, v: number, pv: number) {
  const where = key >= 0 ? ` within key ${key}` : '';
  return new AsofUnsortedError(
    `${side} input is not sorted by on${where}: row ${row} (${v}) comes after row ${prev} (${pv})`,
    side,
    row,
    prev,
    key,
  );
}

/** Right rows laid out per key: values and original indices, key `k` in `[start[k], start[k+1])`. */
interface Layout {
  values: Float64Array;
  index: Int32Array | undefined;
  start: Int32Array;
}

function layoutUnkeyed(right: Float64Array): Layout {
  const n = right.length;
  let nan = 0;
  let prev = Number.NEGATIVE_INFINITY;
  let prevRow = -1;
  for (let j = 0; j < n; j++) {
    const v = right[j];
    if (Number.isNaN(v)) {
      nan++;
      continue;
    }
    if (v < prev) throw unsorted('right', j, prevRow, -1, v, prev);
    prev = v;
    prevRow = j;
  }
  if (nan === 0) return { values: right, index: undefined, start: Int32Array.of(0, n) };
  const values = new Float64Array(n - nan);
  const index = new Int32Array(n - nan);
  let p = 0;
  for (let j = 0; j < n; j++) {
    const v = right[j];
    if (Number.isNaN(v)) continue;
    values[p] = v;
    index[p++] = j;
  }
  return { values, index, start: Int32Array.of(0, p) };
}

function layoutKeyed(right: Float64Array, keys: Int32Array, nKeys: number): Layout {
  const n = right.length;
  const start = new Int32Array(nKeys + 1);
  for (let j = 0; j < n; j++) {
    const k = keys[j];
    const v = right[j];
    if (k >= 0 && !Number.isNaN(v)) start[k + 1]++;
  }
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, nKeys);
  const total = start[nKeys];
  const values = new Float64Array(total);
  const index = new Int32Array(total);
  for (let j = 0; j < n; j++) {
    const k = keys[j];
    const v = right[j];
    if (k < 0 || Number.isNaN(v)) continue;
    const p = fill[k]++;
    if (p > start[k] && values[p - 1] > v) throw unsorted('right', j, index[p - 1], k, v, values[p - 1]);
    values[p] = v;
    index[p] = j;
  }
  return { values, index, start };
}

/**
 * Indices of the matching right rows, one per left row (-1: no match). See the module comment for
 * the semantics; throws {@link AsofUnsortedError} on unsorted input. The indices are written to
 * `out` when given (one entry per left row), else to a new array.
 */
export function asofJoinIndices(
  leftOn: Float64Array | BigInt64Array,
  rightOn: Float64Array | BigInt64Array,
  opts: AsofKernelOptions = {},
  out: Int32Array = new Int32Array(leftOn.length),
): Int32Array {
  if (out.length !== leftOn.length) throw new Error('out must have one entry per left row');
  if (leftOn instanceof BigInt64Array || rightOn instanceof BigInt64Array) {
    // int64 values (e.g. µs timestamps) are read as 32-bit word pairs by the backward merge,
    // without a float64 copy; every other path converts once.
    if (
      leftOn instanceof BigInt64Array &&
      rightOn instanceof BigInt64Array &&
      (opts.strategy ?? 'backward') === 'backward'
    ) {
      checkOptions(leftOn.length, rightOn.length, opts);
      const words = (a: BigInt64Array) => new Int32Array(a.buffer, a.byteOffset, a.length * 2);
      const keyed = opts.leftKeys !== undefined;
      if (
        mergeBackwardWords(
          words(leftOn),
          words(rightOn),
          opts.leftKeys,
          opts.rightKeys,
          keyed ? (opts.nKeys ?? 0) : 1,
          opts.tolerance ?? Number.POSITIVE_INFINITY,
          opts.allowExactMatches ?? true,
          out,
        )
      )
        return out;
    }
    const f64 = (a: Float64Array | BigInt64Array) => (a instanceof BigInt64Array ? int64ToFloat64(a) : a);
    return asofJoinIndices(f64(leftOn), f64(rightOn), opts, out);
  }
  checkOptions(leftOn.length, rightOn.length, opts);
  const strategy = opts.strategy ?? 'backward';
  const tol = opts.tolerance ?? Number.POSITIVE_INFINITY;
  const allowEq = opts.allowExactMatches ?? true;
  const keyed = opts.leftKeys !== undefined;
  const nKeys = keyed ? (opts.nKeys ?? 0) : 1;
  const lk = keyed ? opts.leftKeys! : undefined;
  const rk = keyed ? opts.rightKeys! : undefined;
  // Time-ordered input (the usual case for market data) takes one global merge pass with the
  // last (or first) right row per key; otherwise right rows are laid out per key first.
  if (strategy === 'backward' || strategy === 'nearest') {
    if (mergeBackward(leftOn, rightOn, lk, rk, nKeys, tol, allowEq, strategy === 'nearest', out)) {
      if (strategy === 'backward' || mergeNearest(leftOn, rightOn, lk, rk, nKeys, tol, out)) return out;
    }
  } else if (strategy === 'forward') {
    if (mergeForward(leftOn, rightOn, lk, rk, nKeys, tol, allowEq, out)) return out;
  } else throw new Error(`unknown strategy "${strategy}"; expected backward, forward or nearest`);
  const layout = keyed ? layoutKeyed(rightOn, rk!, nKeys) : layoutUnkeyed(rightOn);
  const leftKeys = lk ?? new Int32Array(leftOn.length);
  perKey(strategy, leftOn, leftKeys, nKeys, keyed, layout, tol, allowEq, out);
  if (layout.index !== undefined) {
    const index = layout.index;
    for (let i = 0; i < out.length; i++) {
      const p = out[i];
      if (p >= 0) out[i] = index[p];
    }
  }
  return out;
}

/**
 * Backward match by one merge of both sides in global `on` order, keeping the last right row per
 * key. With `raw`, the tolerance is not applied (nearest uses the candidate). Returns false, with
 * `out` unspecified, as soon as either side is not in global order (NaN rows are skipped).
 */
function mergeBackward(
  left: Float64Array,
  right: Float64Array,
  lk: Int32Array | undefined,
  rk: Int32Array | undefined,
  nKeys: number,
  tol: number,
  allowEq: boolean,
  raw: boolean,
  out: Int32Array,
): boolean {
  const last = new Int32Array(nKeys).fill(-1);
  const nr = right.length;
  let j = 0;
  let prevL = Number.NEGATIVE_INFINITY;
  let prevR = Number.NEGATIVE_INFINITY;
  // The next right value, +Infinity past the end (no bounds check in the inner loop).
  let r = nr > 0 ? right[0] : Number.POSITIVE_INFINITY;
  for (let i = 0; i < left.length; i++) {
    const l = left[i];
    if (l < prevL) return false;
    if (Number.isNaN(l)) {
      out[i] = -1;
      continue;
    }
    prevL = l;
    while (r <= l || Number.isNaN(r)) {
      if (!Number.isNaN(r)) {
        if (r < prevR) return false;
        prevR = r;
        if (!allowEq && r === l) break;
        const k = rk ? rk[j] : 0;
        if (k >= 0) last[k] = j;
      }
      j++;
      r = j < nr ? right[j] : Number.POSITIVE_INFINITY;
    }
    const k = lk ? lk[i] : 0;
    const m = k >= 0 && k < nKeys ? last[k] : -1;
    out[i] = m >= 0 && (raw || l - right[m] <= tol) ? m : -1;
  }
  for (; j < nr; j++) {
    const v = right[j];
    if (v < prevR) return false;
    if (!Number.isNaN(v)) prevR = v;
  }
  return true;
}

/**
 * Forward match by one merge in reverse global order, keeping the first right row per key.
 * Returns false when either side is not in global `on` order.
 */
function mergeForward(
  left: Float64Array,
  right: Float64Array,
  lk: Int32Array | undefined,
  rk: Int32Array | undefined,
  nKeys: number,
  tol: number,
  allowEq: boolean,
  out: Int32Array,
): boolean {
  const first = new Int32Array(nKeys).fill(-1);
  let j = right.length - 1;
  let prevL = Number.POSITIVE_INFINITY;
  let prevR = Number.POSITIVE_INFINITY;
  for (let i = left.length - 1; i >= 0; i--) {
    const l = left[i];
    if (Number.isNaN(l)) {
      out[i] = -1;
      continue;
    }
    if (l > prevL) return false;
    prevL = l;
    while (j >= 0) {
      const r = right[j];
      if (r >= l) {
        if (r > prevR) return false;
        prevR = r;
        if (!allowEq && r === l) break;
        const k = rk ? rk[j] : 0;
        if (k >= 0) first[k] = j;
      } else if (!Number.isNaN(r)) break;
      j--;
    }
    const k = lk ? lk[i] : 0;
    const m = k >= 0 && k < nKeys ? first[k] : -1;
    out[i] = m >= 0 && right[m] - l <= tol ? m : -1;
  }
  for (; j >= 0; j--) {
    const r = right[j];
    if (r > prevR) return false;
    if (!Number.isNaN(r)) prevR = r;
  }
  return true;
}

/**
 * Second pass of the nearest match on time-ordered input: `out` holds the backward candidates
 * (last right row below or at the left value); a reverse merge finds the first right row above it
 * per key (and the last of its equal values), and the closer one wins, the later on a tie.
 */
function mergeNearest(
  left: Float64Array,
  right: Float64Array,
  lk: Int32Array | undefined,
  rk: Int32Array | undefined,
  nKeys: number,
  tol: number,
  out: Int32Array,
): boolean {
  const first = new Int32Array(nKeys).fill(-1);
  const lastDup = new Int32Array(nKeys).fill(-1);
  let j = right.length - 1;
  for (let i = left.length - 1; i >= 0; i--) {
    const l = left[i];
    if (Number.isNaN(l)) continue;
    while (j >= 0) {
      const r = right[j];
      if (r > l) {
        const k = rk ? rk[j] : 0;
        if (k >= 0) {
          const f = first[k];
          if (f < 0 || right[f] !== r) lastDup[k] = j;
          first[k] = j;
        }
      } else if (!Number.isNaN(r)) break;
      j--;
    }
    const k = lk ? lk[i] : 0;
    const b = out[i];
    let best = b;
    if (k >= 0 && k < nKeys && first[k] >= 0) {
      const f = first[k];
      if (b < 0 || right[f] - l <= l - right[b]) best = lastDup[k];
    }
    out[i] = best >= 0 && Math.abs(l - right[best]) <= tol ? best : -1;
  }
  return true;
}

function checkOptions(nLeft: number, nRight: number, opts: AsofKernelOptions): void {
  const tol = opts.tolerance ?? Number.POSITIVE_INFINITY;
  if (!(tol >= 0)) throw new RangeError(`tolerance must be a number >= 0, got ${tol}`);
  const keyed = opts.leftKeys !== undefined;
  if (keyed !== (opts.rightKeys !== undefined))
    throw new Error('leftKeys and rightKeys must be given together');
  if (keyed && (opts.leftKeys!.length !== nLeft || opts.rightKeys!.length !== nRight))
    throw new Error('key codes must have one entry per row');
}

const TWO_32 = 4294967296;
const TWO_53 = 2 ** 53;

/**
 * {@link mergeBackward} over int64 values given as little-endian 32-bit word pairs
 * (value = hi * 2^32 + lo, exact below 2^53). Returns false when either side is not in global order.
 * The inner loop only moves the right cursor: each right value is read once and compared with the
 * one before it (that is the right sortedness check); the key test is left out when unkeyed.
 */
function mergeBackwardWords(
  left: Int32Array,
  right: Int32Array,
  lk: Int32Array | undefined,
  rk: Int32Array | undefined,
  nKeys: number,
  tol: number,
  allowEq: boolean,
  out: Int32Array,
): boolean {
  const last = new Int32Array(nKeys).fill(-1);
  const nl = left.length >> 1;
  const nr = right.length >> 1;
  let j = 0;
  let prevL = Number.NEGATIVE_INFINITY;
  // The next right value, +Infinity past the end.
  let r = nr > 0 ? right[1] * TWO_32 + (right[0] >>> 0) : Number.POSITIVE_INFINITY;
  for (let i = 0; i < nl; i++) {
    const l = left[2 * i + 1] * TWO_32 + (left[2 * i] >>> 0);
    if (l < prevL) return false;
    prevL = l;
    // Values are integers: `r < l` is `r <= l - 1` while that is exact (else the float path).
    let lim = l;
    if (!allowEq) {
      if (!(Math.abs(l) < TWO_53)) return false;
      lim = l - 1;
    }
    while (r <= lim) {
      if (rk === undefined) last[0] = j;
      else {
        const k = rk[j];
        if (k >= 0) last[k] = j;
      }
      if (++j === nr) {
        r = Number.POSITIVE_INFINITY;
        break;
      }
      const next = right[2 * j + 1] * TWO_32 + (right[2 * j] >>> 0);
      if (next < r) return false;
      r = next;
    }
    const k = lk === undefined ? 0 : lk[i];
    const m = k >= 0 && k < nKeys ? last[k] : -1;
    out[i] = m >= 0 && l - (right[2 * m + 1] * TWO_32 + (right[2 * m] >>> 0)) <= tol ? m : -1;
  }
  for (let p = j + 1; p < nr; p++)
    if (
      right[2 * p + 1] * TWO_32 + (right[2 * p] >>> 0) <
      right[2 * p - 1] * TWO_32 + (right[2 * p - 2] >>> 0)
    )
      return false;
  return true;
}

/**
 * The match of each left row among its key's right rows laid out per key (input sorted per key
 * only), with one cursor per key; throws on a left row out of order within its key.
 */
function perKey(
  strategy: AsofStrategy,
  left: Float64Array,
  keys: Int32Array,
  nKeys: number,
  keyed: boolean,
  layout: Layout,
  tol: number,
  allowEq: boolean,
  out: Int32Array,
): void {
  const { values: rs, start } = layout;
  const cur = start.slice(0, nKeys);
  // Per-key last left value, for the left sortedness check.
  const last = new Float64Array(nKeys).fill(Number.NEGATIVE_INFINITY);
  const lastRow = new Int32Array(nKeys);
  // The cursor stops at the first right value past `l`: `> l` for backward and nearest with exact
  // matches and for forward without them, `>= l` otherwise.
  const passEqual = strategy === 'forward' ? !allowEq : allowEq;
  for (let i = 0; i < left.length; i++) {
    const k = keys[i];
    const l = left[i];
    if (k < 0 || k >= nKeys || Number.isNaN(l)) {
      out[i] = -1;
      continue;
    }
    if (l < last[k]) throw unsorted('left', i, lastRow[k], keyed ? k : -1, l, last[k]);
    last[k] = l;
    lastRow[k] = i;
    const end = start[k + 1];
    let c = cur[k];
    if (passEqual) while (c < end && rs[c] <= l) c++;
    else while (c < end && rs[c] < l) c++;
    cur[k] = c;
    if (strategy === 'backward') out[i] = c > start[k] && l - rs[c - 1] <= tol ? c - 1 : -1;
    else if (strategy === 'forward') out[i] = c < end && rs[c] - l <= tol ? c : -1;
    else {
      let f = c;
      if (!allowEq) while (f < end && rs[f] === l) f++;
      const hasB = c > start[k];
      let best = -1;
      if (f < end && (!hasB || rs[f] - l <= l - rs[c - 1])) {
        const v = rs[f];
        while (f + 1 < end && rs[f + 1] === v) f++;
        best = f;
      } else if (hasB) best = c - 1;
      out[i] = best >= 0 && Math.abs(l - rs[best]) <= tol ? best : -1;
    }
  }
}
