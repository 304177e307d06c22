/**
 * Incremental state of the streaming as-of join, per key: the retained right rows sorted by `on`,
 * each with a reference (slot, row) to the batch that holds its values. Pure typed arrays.
 *
 * The match rules are those of {@link asofJoinIndices} (kernels/asof.ts). On top, this file says
 * when a match is final given the right watermark `W` (every right row still to come has
 * `on >= W`), and which retained rows can be dropped given a lower bound `N` on the left rows still
 * to be matched.
 */
import type { AsofStrategy } from './asof.ts';
import { matchBits } from './asof-gather.ts';
import { nativeKernels } from './native.ts';
import { type SharedArrayCtor, sharedArray } from './shared-array.ts';

/** Retained right rows of one key, sorted by `on`; live entries are `[start, end)`. */
export class AsofHistory {
  ts: Float64Array;
  slot: Int32Array;
  row: Int32Array;
  start = 0;
  end = 0;
  /** Cursor hint for the merge with non-decreasing left values (any position is valid). */
  hint = 0;

  constructor(capacity = 16) {
    this.ts = new Float64Array(capacity);
    this.slot = new Int32Array(capacity);
    this.row = new Int32Array(capacity);
  }

  get size(): number {
    return this.end - this.start;
  }

  private makeRoom(): void {
    if (this.end < this.ts.length) return;
    const n = this.end - this.start;
    if (this.start > 0 && n <= this.ts.length >> 1) {
      this.ts.copyWithin(0, this.start, this.end);
      this.slot.copyWithin(0, this.start, this.end);
      this.row.copyWithin(0, this.start, this.end);
    } else {
      const cap = Math.max(16, this.ts.length * 2);
      const ts = new Float64Array(cap);
      const slot = new Int32Array(cap);
      const row = new Int32Array(cap);
      ts.set(this.ts.subarray(this.start, this.end));
      slot.set(this.slot.subarray(this.start, this.end));
      row.set(this.row.subarray(this.start, this.end));
      this.ts = ts;
      this.slot = slot;
      this.row = row;
    }
    this.hint = Math.max(0, this.hint - this.start);
    this.start = 0;
    this.end = n;
  }

  /** Insert after every entry with `on <= t` (stable for equal values). */
  insert(t: number, slot: number, row: number): void {
    this.makeRoom();
    let p = this.end;
    const ts = this.ts;
    while (p > this.start && ts[p - 1] > t) p--;
    if (p < this.end) {
      ts.copyWithin(p + 1, p, this.end);
      this.slot.copyWithin(p + 1, p, this.end);
      this.row.copyWithin(p + 1, p, this.end);
    }
    ts[p] = t;
    this.slot[p] = slot;
    this.row[p] = row;
    this.end++;
  }

  /** Drop the `n` oldest entries, calling `dropped(slot)` for each. */
  dropFront(n: number, dropped: (slot: number) => void): void {
    const stop = this.start + n;
    for (let p = this.start; p < stop; p++) dropped(this.slot[p]);
    this.start = stop;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
  }

  /**
   * {@link dropFront}, reporting each run of consecutive entries from one slot once:
   * `dropped(slot, count)`, in order.
   */
  dropFrontRuns(n: number, dropped: (slot: number, count: number) => void): void {
    const stop = this.start + n;
    const slots = this.slot;
    let p = this.start;
    while (p < stop) {
      const s = slots[p];
      let q = p + 1;
      while (q < stop && slots[q] === s) q++;
      dropped(s, q - p);
      p = q;
    }
    this.start = stop;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
  }

  /** First position with `on > l` (`strict = false`) or `on >= l` (`strict = true`). */
  cursor(l: number, strict: boolean): number {
    const ts = this.ts;
    let c = Math.min(Math.max(this.hint, this.start), this.end);
    if (strict) {
      while (c > this.start && ts[c - 1] >= l) c--;
      while (c < this.end && ts[c] < l) c++;
    } else {
      while (c > this.start && ts[c - 1] > l) c--;
      while (c < this.end && ts[c] <= l) c++;
    }
    this.hint = c;
    return c;
  }
}

/** Position of the match of left value `l` in `h` (absolute), or -1. */
export function historyMatch(
  h: AsofHistory,
  l: number,
  strategy: AsofStrategy,
  allowEq: boolean,
  tol: number,
): number {
  if (h.end === h.start || Number.isNaN(l)) return -1;
  const ts = h.ts;
  const end = h.end;
  if (strategy === 'backward') {
    const c = h.cursor(l, !allowEq);
    return c > h.start && l - ts[c - 1] <= tol ? c - 1 : -1;
  }
  if (strategy === 'forward') {
    const c = h.cursor(l, allowEq);
    return c < end && ts[c] - l <= tol ? c : -1;
  }
  const c = h.cursor(l, !allowEq);
  let f = c;
  if (!allowEq) while (f < end && ts[f] === l) f++;
  const hasB = c > h.start;
  let best = -1;
  if (f < end && (!hasB || ts[f] - l <= l - ts[c - 1])) {
    const v = ts[f];
    while (f + 1 < end && ts[f + 1] === v) f++;
    best = f;
  } else if (hasB) best = c - 1;
  return best >= 0 && Math.abs(l - ts[best]) <= tol ? best : -1;
}

/**
 * Whether the match of `l` (position `pos` from {@link historyMatch}, -1 for none) can no longer
 * change, when every right row still to come has `on >= w`:
 * backward needs `w > l` (`w >= l` without exact matches); forward is final once a match exists
 * with `on <= w`, or when `w > l + tol`; nearest needs `w > l + min(distance, tol)`.
 */
export function matchIsFinal(
  h: AsofHistory | undefined,
  pos: number,
  l: number,
  strategy: AsofStrategy,
  allowEq: boolean,
  tol: number,
  w: number,
): boolean {
  if (w === Number.POSITIVE_INFINITY || Number.isNaN(l)) return true;
  if (strategy === 'backward') return allowEq ? w > l : w >= l;
  if (strategy === 'forward') return pos >= 0 ? w >= h!.ts[pos] : w > l + tol;
  const bound = pos >= 0 ? Math.min(Math.abs(h!.ts[pos] - l), tol) : tol;
  return w > l + bound;
}

/**
 * How many of the oldest entries of `h` no left row with value `>= n` can match: superseded by a
 * later entry (backward, nearest), behind every such left row (forward), or beyond the tolerance.
 */
export function droppable(
  h: AsofHistory,
  n: number,
  strategy: AsofStrategy,
  allowEq: boolean,
  tol: number,
): number {
  const ts = h.ts;
  let s = h.start;
  const end = h.end;
  const horizon = n - tol;
  while (s < end && ts[s] < horizon) s++;
  if (strategy === 'forward') {
    if (allowEq) while (s < end && ts[s] < n) s++;
    else while (s < end && ts[s] <= n) s++;
  } else if (allowEq) while (s + 1 < end && ts[s + 1] <= n) s++;
  else while (s + 1 < end && ts[s + 1] < n) s++;
  return s - h.start;
}

/**
 * Match left rows `from..n-1` in order against the histories (indexed by key code), writing the
 * matched (slot, row) at `i - from` (row -1: no match), and stop at the first row whose match is
 * not final under watermark `w` (unless `immediate`). Returns the index it stopped at.
 */
export function matchRows(
  histories: readonly (AsofHistory | undefined)[],
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  n: number,
  strategy: AsofStrategy,
  allowEq: boolean,
  tol: number,
  w: number,
  immediate: boolean,
  outSlot: Int32Array,
  outRow: Int32Array,
): number {
  if (strategy === 'backward')
    return matchBackward(histories, on, keys, from, n, allowEq, tol, w, immediate, outSlot, outRow);
  let i = from;
  for (; i < n; i++) {
    const l = on[i];
    const k = keys ? keys[i] : 0;
    const h = k >= 0 ? histories[k] : undefined;
    const pos = h ? historyMatch(h, l, strategy, allowEq, tol) : -1;
    if (!immediate && !matchIsFinal(h, pos, l, strategy, allowEq, tol, w)) break;
    if (pos >= 0) {
      outSlot[i - from] = h!.slot[pos];
      outRow[i - from] = h!.row[pos];
    } else outRow[i - from] = -1;
  }
  return i;
}

/**
 * {@link matchRows} for strategy backward: one cursor per key, moved forward from its hint. The
 * loop is written out once per `allowEq` (`on <= l` and `on < l`) so that the per-row path has no
 * test of it; the hint is usually in range and at or behind the answer (left rows in order), which
 * one test checks, and it is written only when it moves.
 */
function matchBackward(
  histories: readonly (AsofHistory | undefined)[],
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  n: number,
  allowEq: boolean,
  tol: number,
  w: number,
  immediate: boolean,
  outSlot: Int32Array,
  outRow: Int32Array,
): number {
  let i = from;
  if (allowEq)
    for (; i < n; i++) {
      const l = on[i];
      if (!immediate && !(w > l) && !Number.isNaN(l)) break;
      const k = keys ? keys[i] : 0;
      const h = k >= 0 ? histories[k] : undefined;
      let row = -1;
      if (h !== undefined && h.end > h.start && !Number.isNaN(l)) {
        const ts = h.ts;
        const start = h.start;
        const end = h.end;
        let c = h.hint;
        if (c < start || c > end || (c > start && ts[c - 1] > l)) {
          c = Math.min(Math.max(c, start), end);
          while (c > start && ts[c - 1] > l) c--;
          h.hint = c;
        }
        if (c < end && ts[c] <= l) {
          c++;
          while (c < end && ts[c] <= l) c++;
          h.hint = c;
        }
        if (c > start && l - ts[c - 1] <= tol) {
          outSlot[i - from] = h.slot[c - 1];
          row = h.row[c - 1];
        }
      }
      outRow[i - from] = row;
    }
  else
    for (; i < n; i++) {
      const l = on[i];
      if (!immediate && !(w >= l) && !Number.isNaN(l)) break;
      const k = keys ? keys[i] : 0;
      const h = k >= 0 ? histories[k] : undefined;
      let row = -1;
      if (h !== undefined && h.end > h.start && !Number.isNaN(l)) {
        const ts = h.ts;
        const start = h.start;
        const end = h.end;
        let c = h.hint;
        if (c < start || c > end || (c > start && ts[c - 1] >= l)) {
          c = Math.min(Math.max(c, start), end);
          while (c > start && ts[c - 1] >= l) c--;
          h.hint = c;
        }
        if (c < end && ts[c] < l) {
          c++;
          while (c < end && ts[c] < l) c++;
          h.hint = c;
        }
        if (c > start && l - ts[c - 1] <= tol) {
          outSlot[i - from] = h.slot[c - 1];
          row = h.row[c - 1];
        }
      }
      outRow[i - from] = row;
    }
  return i;
}

/** What {@link scanLeft} reports about a left batch's `on` values. */
export interface LeftScan {
  /** Largest value, starting from the given one. */
  max: number;
  min: number;
  /** Whether the non-NaN values are non-decreasing. */
  sorted: boolean;
  /** Values below the running max − lateness. */
  late: number;
}

const TWO_32 = 4294967296;

/**
 * One pass over a left batch's `on` values: max, min, order and late rows (below the running max
 * − `lateness`). int64 values are converted into `out` on the way (value = hi · 2^32 + lo, as
 * `int64ToFloat64` does), so the batch is read once.
 */
export function scanLeft(
  src: Float64Array | BigInt64Array,
  out: Float64Array | undefined,
  maxIn: number,
  lateness: number,
  res: LeftScan,
): void {
  let max = maxIn;
  let min = Number.POSITIVE_INFINITY;
  let prev = Number.NEGATIVE_INFINITY;
  let sorted = true;
  let late = 0;
  if (src instanceof BigInt64Array) {
    const words = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
    const dst = out!;
    if (scanSortedInt64(words, src.length, dst, maxIn, lateness, res)) return;
    for (let i = 0, j = 0; i < src.length; i++, j += 2) {
      const t = words[j + 1] * TWO_32 + (words[j] >>> 0);
      dst[i] = t;
      if (t < max - lateness) late++;
      if (t > max) max = t;
      if (t < min) min = t;
      if (t < prev) sorted = false;
      prev = t;
    }
  } else
    for (let i = 0; i < src.length; i++) {
      const t = src[i];
      if (t < max - lateness) late++;
      if (t > max) max = t;
      if (t < min) min = t;
      if (t < prev) sorted = false;
      if (!Number.isNaN(t)) prev = t;
    }
  res.max = max;
  res.min = min;
  res.sorted = sorted;
  res.late = late;
}

/**
 * {@link scanLeft} for int64 values in non-decreasing order, the usual case: one loop that only
 * converts and checks the order ({@link sortedInt64Late}); then the min is the first value, the
 * max the last (or `maxIn`), and the late rows a prefix (a row is late only below
 * `maxIn − lateness`, since no earlier row of the batch is above it). Returns false, with `res`
 * untouched, when a value is out of order (or the lateness is negative): the caller scans the
 * general way.
 */
function scanSortedInt64(
  words: Int32Array,
  n: number,
  dst: Float64Array,
  maxIn: number,
  lateness: number,
  res: LeftScan,
): boolean {
  const native = nativeKernels();
  const late =
    native === undefined
      ? sortedInt64Late(words, n, dst, maxIn, lateness)
      : native.asofScanSortedInt64({ values: words, rows: n, output: dst, max: maxIn, lateness });
  if (late < 0) return false;
  res.max = Math.max(dst[n - 1], maxIn);
  res.min = dst[0];
  res.sorted = true;
  res.late = late;
  return true;
}

/**
 * Convert `n` int64 values (word pairs) into `dst` while they are non-decreasing, and count the
 * leading ones below `maxIn − lateness`: returns that count, or -1 (`dst` then unspecified) at the
 * first value out of order, for no values, or for a lateness that is not >= 0. The C kernel
 * (native/asof_stream.c) has the same contract.
 */
function sortedInt64Late(
  words: Int32Array,
  n: number,
  dst: Float64Array,
  maxIn: number,
  lateness: number,
): number {
  if (n === 0 || !(lateness >= 0)) return -1;
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t = words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
    if (t < prev) return -1;
    dst[i] = t;
    prev = t;
  }
  const bound = maxIn - lateness;
  let late = 0;
  while (late < n && dst[late] < bound) late++;
  return late;
}

/** One right batch in the {@link AsofMerge} log: its `on` values and key ids (-1: not retained). */
export interface MergeEntry {
  on: Float64Array;
  keys: Int32Array;
  /** Per retained row, its key's running count of retained rows appended (see {@link AsofMerge.appended}). */
  rank: Int32Array;
  slot: number;
  length: number;
  /**
   * The batch's values of the output's right columns when they are written by the merge itself
   * (float64 without nulls, see {@link AsofMerge.values}); undefined until resolved.
   */
  vals: Float64Array[] | undefined;
}

/**
 * Backward matching by one global merge, valid while the right rows come in non-decreasing `on`
 * order and the left rows too (what live feeds in event-time order give). Instead of per-key
 * histories it keeps the right batches in arrival order (the log) and two cursors over them:
 * - the match cursor, at the last matched left value, with per key the last right row passed (the
 *   match of a left row of that key, if within the tolerance): O(1) a left row, each right row
 *   passed once;
 * - the prune cursor, at the left lower bound `N`, with per key the last row passed: the rows of
 *   the key before it are superseded (dropped), and it is dropped once older than `N − tol`.
 * So the rows it retains per key are exactly those that {@link droppable} keeps in a history: the
 * prevailing row at the prune cursor (while live) and every row after the cursor. `count` holds
 * their number per key, so the caller can hand over to histories before a key would evict.
 */
export class AsofMerge {
  log: MergeEntry[] = [];
  /** Match cursor: entry index and row. */
  mEntry = 0;
  mRow = 0;
  /** Prune cursor: entry index and row. */
  pEntry = 0;
  pRow = 0;
  /**
   * Per key `k` at index `k + 1`, the last row passed by the match cursor (ts NaN: none). Index 0
   * is a sink for right rows without a key (see {@link mergeMatch}). `mV0` and `mV1` (below) have
   * the same length.
   */
  mTs = sharedArray(Float64Array, 0);
  mSlot = sharedArray(Int32Array, 0);
  mRowOf = sharedArray(Int32Array, 0);
  /** Per key, the last row passed by the prune cursor and whether it is still retained. */
  pTs = sharedArray(Float64Array, 0);
  pSlot = sharedArray(Int32Array, 0);
  pRowOf = sharedArray(Int32Array, 0);
  pLive = sharedArray(Uint8Array, 0);
  /** Per key, retained rows (live rows of the key in the log). */
  count = sharedArray(Int32Array, 0);
  /**
   * Per key, rows retained since the start (a row's rank, see {@link MergeEntry.rank}), and the
   * rank of the last row the prune cursor passed: the rows of a key between two positions are the
   * difference of their ranks.
   */
  appended = sharedArray(Int32Array, 0);
  pRank = sharedArray(Int32Array, 0);
  /** Keys in use (the largest `ensureKeys` asked for): key ids are below it. */
  keyCount = 0;
  /**
   * Number of right columns whose values the merge carries per key (`mVals[(k + 1) · values + c]`)
   * and writes straight into the output, or 0 (the caller gathers by slot and row).
   */
  values = 0;
  mVals = sharedArray(Float64Array, 0);
  /**
   * With one or two carried columns, the first and last column's values per key (at `k + 1`)
   * instead of `mVals`: what {@link mergeMatchCarried} reads and writes (no multiply per row).
   */
  mV0 = sharedArray(Float64Array, 0);
  mV1 = sharedArray(Float64Array, 0);
  /** Entries whose rows both cursors have passed, for their buffers to be reused. */
  readonly free: MergeEntry[] = [];
  /** Per slot, rows dropped by the current prune (reported once per slot). */
  drops = sharedArray(Int32Array, 16);
  /** Per key, scratch of the prune cursor's walk over one batch: seen (1), last row; keys seen. */
  walkSeen = sharedArray(Int32Array, 0);
  walkLast = sharedArray(Int32Array, 0);
  walkKeys = sharedArray(Int32Array, 0);
  /** Zeros, as the key ids of left rows without `by`. */
  zeros = sharedArray(Int32Array, 0);

  /** Make the per-key arrays hold at least `n` keys. */
  ensureKeys(n: number): void {
    if (n > this.keyCount) this.keyCount = n;
    if (n <= this.pTs.length) return;
    const cap = Math.max(8, n, this.pTs.length * 2);
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, fill: number, extra = 0): T => {
      const b = sharedArray(a.constructor as SharedArrayCtor<T>, cap + extra);
      b.set(a);
      b.fill(fill, a.length);
      return b;
    };
    this.mTs = grow(this.mTs, Number.NaN, 1);
    this.mSlot = grow(this.mSlot, 0, 1);
    this.mRowOf = grow(this.mRowOf, 0, 1);
    const vals = sharedArray(Float64Array, (cap + 1) * this.values);
    vals.set(this.mVals);
    this.mVals = vals;
    this.mV0 = grow(this.mV0, 0, 1);
    this.mV1 = grow(this.mV1, 0, 1);
    this.pTs = grow(this.pTs, Number.NaN);
    this.pSlot = grow(this.pSlot, 0);
    this.pRowOf = grow(this.pRowOf, 0);
    this.pLive = grow(this.pLive, 0);
    this.count = grow(this.count, 0);
    this.appended = grow(this.appended, 0);
    this.pRank = grow(this.pRank, 0);
    this.walkSeen = grow(this.walkSeen, 0);
    this.walkLast = grow(this.walkLast, 0);
    this.walkKeys = grow(this.walkKeys, 0);
  }

  /** An entry for `n` rows, reusing the buffers of a passed one when large enough. */
  entry(n: number, slot: number): MergeEntry {
    let e = this.free.pop();
    if (e === undefined || e.on.length < n)
      e = {
        on: sharedArray(Float64Array, n),
        keys: sharedArray(Int32Array, n),
        rank: sharedArray(Int32Array, n),
        slot,
        length: n,
        vals: undefined,
      };
    e.slot = slot;
    e.length = n;
    e.vals = undefined;
    return e;
  }

  /**
   * Carry `n` value columns per key from now on (0: none). Only before any left row is matched, or
   * to stop carrying: the carried values of rows already passed are not recovered.
   */
  setValues(n: number): void {
    this.values = n;
    this.mVals = sharedArray(Float64Array, this.mTs.length * n);
    this.mV0 = sharedArray(Float64Array, this.mTs.length);
    this.mV1 = sharedArray(Float64Array, this.mTs.length);
  }

  /** Drop the log entries both cursors have passed. */
  compact(): void {
    const d = Math.min(this.mEntry, this.pEntry);
    if (d === 0) return;
    for (let e = 0; e < d; e++) if (this.free.length < 4) this.free.push(this.log[e]);
    this.log.splice(0, d);
    this.mEntry -= d;
    this.pEntry -= d;
  }
}

/**
 * The rows the merge retains, per key in `on` order, as per-key histories would hold them: the
 * prevailing row at the prune cursor while live, then every row after the cursor.
 */
export function forEachRetained(
  m: AsofMerge,
  visit: (key: number, on: number, slot: number, row: number) => void,
): void {
  for (let k = 0; k < m.pLive.length; k++) if (m.pLive[k] === 1) visit(k, m.pTs[k], m.pSlot[k], m.pRowOf[k]);
  for (let e = m.pEntry, r = m.pRow; e < m.log.length; e++, r = 0) {
    const { on, keys, slot, length } = m.log[e];
    for (; r < length; r++) if (keys[r] >= 0) visit(keys[r], on[r], slot, r);
  }
}

/** What {@link mergeAppend} reports about a right batch. */
export interface RightScan {
  /** Largest value, starting from the given one. */
  max: number;
  /** Rows below the running max − lateness (dropped). */
  late: number;
  /** Rows retained. */
  live: number;
}

/**
 * Fill log entry `e` from a right batch (int64 `on` values converted as in {@link scanLeft}): key
 * -1 for rows not retained (NaN, null key, late: below the running max − `lateness`), whose `on`
 * becomes the running max so that the entry stays sorted and free of NaN. Counts the
 * retained rows per key. Returns false, with the merge state unchanged but for `count`, when the
 * batch breaks the merge's premises: a retained row below the running max (out of order), or a key
 * past `maxRows` retained rows (the histories must take over to evict).
 */
export function mergeAppend(
  m: AsofMerge,
  e: MergeEntry,
  src: Float64Array | BigInt64Array,
  keys: Int32Array | undefined,
  maxIn: number,
  lateness: number,
  maxRows: number,
  res: RightScan,
): boolean {
  const on = e.on;
  const ek = e.keys;
  const n = e.length;
  const count = m.count;
  const appended = m.appended;
  const rank = e.rank;
  let max = maxIn;
  let late = 0;
  let live = 0;
  let ok = true;
  // int64 values are read as word pairs in the same pass (the test is the same for every row).
  const words = src instanceof BigInt64Array ? new Int32Array(src.buffer, src.byteOffset, n * 2) : undefined;
  const f64 = src instanceof Float64Array ? src : on;
  let j = 0;
  if (words !== undefined && keys !== undefined) {
    // The usual rows first (in order, with a key, under the bound); the loop below takes over
    // at the first other row.
    j = appendInOrder(words, keys, e, count, appended, n, maxIn, maxRows);
    live = j;
    if (j > 0) max = on[j - 1];
  }
  for (; j < n; j++) {
    const t = words !== undefined ? words[2 * j + 1] * TWO_32 + (words[2 * j] >>> 0) : f64[j];
    on[j] = t;
    const k = keys ? keys[j] : 0;
    if (Number.isNaN(t) || k < 0) {
      ek[j] = -1;
      on[j] = max;
      continue;
    }
    if (t < max) {
      if (t < max - lateness) {
        late++;
        ek[j] = -1;
        on[j] = max;
        continue;
      }
      ok = false;
      break;
    }
    max = t;
    if (count[k] >= maxRows) {
      ok = false;
      break;
    }
    count[k]++;
    rank[j] = ++appended[k];
    ek[j] = k;
    live++;
  }
  if (!ok)
    for (let i = 0; i < j; i++)
      if (ek[i] >= 0) {
        count[ek[i]]--;
        appended[ek[i]]--;
      }
  res.max = max;
  res.late = late;
  res.live = live;
  return ok;
}

/**
 * {@link mergeAppend}'s loop for int64 rows that are retained and in order: converts row `j` into
 * `e.on[j]`, its key into `e.keys[j]`, counts it and notes its rank, while its value is at least the running max (from
 * `maxIn`), its key is not null and the key holds fewer than `maxRows` rows. Returns the first row
 * that is not such a row (`n` when none). Runs the C kernel (native/asof_stream.c) when loaded.
 */
function appendInOrder(
  words: Int32Array,
  keys: Int32Array,
  e: MergeEntry,
  count: Int32Array,
  appended: Int32Array,
  n: number,
  maxIn: number,
  maxRows: number,
): number {
  const native = nativeKernels();
  if (native === undefined) return appendInOrderJs(words, keys, e, count, appended, n, maxIn, maxRows);
  return native.asofAppendInOrder({
    values: words,
    keys,
    on: e.on,
    entryKeys: e.keys,
    rank: e.rank,
    count,
    appended,
    rows: n,
    max: maxIn,
    maxRows,
  });
}

/** The TypeScript {@link appendInOrder}. */
function appendInOrderJs(
  words: Int32Array,
  keys: Int32Array,
  e: MergeEntry,
  count: Int32Array,
  appended: Int32Array,
  n: number,
  maxIn: number,
  maxRows: number,
): number {
  const on = e.on;
  const ek = e.keys;
  const rank = e.rank;
  let max = maxIn;
  for (let j = 0; j < n; j++) {
    const t = words[2 * j + 1] * TWO_32 + (words[2 * j] >>> 0);
    const k = keys[j];
    if (t < max || k < 0 || count[k] >= maxRows) return j;
    count[k]++;
    rank[j] = ++appended[k];
    on[j] = t;
    ek[j] = k;
    max = t;
  }
  return n;
}

/**
 * {@link matchRows} for backward (final) matching in merge mode: left rows `from..stop-1` (final,
 * see {@link releasable}), in order, writing at `i - from`.
 *
 * With `outVals` (one array per carried column, see {@link AsofMerge.values}) a matched row's
 * values are written there (unmatched rows get any value; `outRow` -1 marks them) and `outSlot`
 * is not written (the stream uses {@link mergeMatchCarried} for one or two carried columns); else
 * the matched (slot, row) go to `outSlot`/`outRow`. Right rows without a key go to index 0 of the
 * per-key state, a sink that left rows without a key read but never match.
 */
export function mergeMatch(
  m: AsofMerge,
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  stop: number,
  allowEq: boolean,
  tol: number,
  outSlot: Int32Array,
  outRow: Int32Array,
  outVals: Float64Array[] | undefined,
): void {
  if (keys === undefined) {
    if (m.zeros.length < stop) m.zeros = sharedArray(Int32Array, stop);
    keys = m.zeros;
  }
  const log = m.log;
  const mTs = m.mTs;
  const mSlot = m.mSlot;
  const mRowOf = m.mRowOf;
  const mVals = m.mVals;
  const nv = outVals === undefined ? 0 : m.values;
  let e = m.mEntry;
  let r = m.mRow;
  // The entry under the cursor, in locals (none: empty stand-ins).
  let ets: Float64Array = mTs;
  let ek: Int32Array = mSlot;
  let len = 0;
  let slot = 0;
  let ent: MergeEntry | undefined;
  if (e < log.length) {
    ent = log[e];
    ets = ent.on;
    ek = ent.keys;
    len = ent.length;
    slot = ent.slot;
  }
  for (let i = from; i < stop; i++) {
    const l = on[i];
    for (;;) {
      // Right rows up to `l` (`< l` without exact matches) become their key's prevailing row.
      if (nv === 0)
        while (r < len && (ets[r] < l || (allowEq && ets[r] === l))) {
          const k = ek[r] + 1;
          mTs[k] = ets[r];
          mSlot[k] = slot;
          mRowOf[k] = r;
          r++;
        }
      else
        while (r < len && (ets[r] < l || (allowEq && ets[r] === l))) {
          const k = ek[r] + 1;
          mTs[k] = ets[r];
          mSlot[k] = slot;
          mRowOf[k] = r;
          const vals = ent!.vals!;
          for (let c = 0; c < nv; c++) mVals[k * nv + c] = vals[c][r];
          r++;
        }
      if (r < len || e + 1 >= log.length) break;
      e++;
      r = 0;
      ent = log[e];
      ets = ent.on;
      ek = ent.keys;
      len = ent.length;
      slot = ent.slot;
    }
    const kl = keys[i] + 1;
    const o = i - from;
    const matched = kl > 0 && l - mTs[kl] <= tol;
    outRow[o] = matched ? mRowOf[kl] : -1;
    if (nv === 0) outSlot[o] = mSlot[kl];
    else for (let c = 0; c < nv; c++) outVals![c][o] = mVals[kl * nv + c];
  }
  if (e < log.length && r === len) {
    e++;
    r = 0;
  }
  m.mEntry = e;
  m.mRow = r;
}

/** Where the last span of {@link mergeMatchCarried} stopped, and its unmatched rows. */
const spanOut = sharedArray(Int32Array, 2);

/** The match cursor as the C kernel of {@link mergeMatchCarried} reads and writes it: entry, row. */
const nativeCursor = new Int32Array(2);

/**
 * {@link mergeMatch} with carried values (`m.values` 1 or 2, see {@link AsofMerge.values}): left
 * rows `from..stop-1`, each matched row's values written at `i - from` in `outVals` and its bit
 * set in `bits` (LSB first; `bits` must be zero over the rows' bytes); unmatched rows get the
 * values of their key's prevailing row (or of the sink, without a key) and no bit. Returns the
 * number of unmatched rows.
 *
 * Runs the C kernel (native/asof_stream.c: the same results, the per-key state included) when it
 * is loaded, else {@link mergeMatchCarriedJs}.
 */
export function mergeMatchCarried(
  m: AsofMerge,
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  stop: number,
  allowEq: boolean,
  tol: number,
  outVals: Float64Array[],
  bits: Uint8Array,
): number {
  const native = nativeKernels();
  if (native === undefined) return mergeMatchCarriedJs(m, on, keys, from, stop, allowEq, tol, outVals, bits);
  const cursor = nativeCursor;
  cursor[0] = m.mEntry;
  cursor[1] = m.mRow;
  const nulls = native.asofMergeCarried({
    on,
    keys,
    from,
    stop,
    allowExactMatches: allowEq,
    tolerance: tol,
    log: m.log,
    cursor,
    ts: m.mTs,
    slot: m.mSlot,
    row: m.mRowOf,
    v0: m.mV0,
    v1: m.mV1,
    outputs: outVals,
    bits,
  });
  m.mEntry = cursor[0];
  m.mRow = cursor[1];
  return nulls;
}

/**
 * The TypeScript {@link mergeMatchCarried}. The rows are taken in spans, one per log entry under
 * the match cursor ({@link span}): the span's loop has no test for the end of the log nor per-row
 * stores of a match index, which made it about 1.2x faster than {@link mergeMatch} on the bench
 * data.
 */
function mergeMatchCarriedJs(
  m: AsofMerge,
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  stop: number,
  allowEq: boolean,
  tol: number,
  outVals: Float64Array[],
  bits: Uint8Array,
): number {
  if (keys === undefined) {
    if (m.zeros.length < stop) m.zeros = sharedArray(Int32Array, stop);
    keys = m.zeros;
  }
  const log = m.log;
  const o0 = outVals[0];
  const o1 = outVals[outVals.length - 1];
  const mTs = m.mTs;
  const mV0 = m.mV0;
  const mV1 = m.mV1;
  const nv = m.values;
  let e = m.mEntry;
  let r = m.mRow;
  let i = from;
  let nulls = 0;
  while (i < stop && e < log.length) {
    const ent = log[e];
    const vals = ent.vals!;
    r = span(
      !allowEq,
      m,
      on,
      keys,
      i,
      stop,
      ent.on,
      ent.keys,
      vals[0],
      vals[nv - 1],
      r,
      ent.length,
      ent.slot,
      tol,
      o0,
      o1,
      bits,
      from,
    );
    i = spanOut[0];
    nulls += spanOut[1];
    if (r < ent.length) break;
    if (e + 1 >= log.length) break;
    e++;
    r = 0;
  }
  // Past the last right row: every remaining row reads its key's prevailing row.
  for (; i < stop; i++) {
    const kl = keys[i] + 1;
    const o = i - from;
    o0[o] = mV0[kl];
    o1[o] = mV1[kl];
    if (kl > 0 && on[i] - mTs[kl] <= tol) bits[o >> 3] |= 1 << (o & 7);
    else nulls++;
  }
  if (e < log.length && r === log[e].length) {
    e++;
    r = 0;
  }
  m.mEntry = e;
  m.mRow = r;
  return nulls;
}

/**
 * One span of {@link mergeMatchCarried} (right `on <= l`, or `on < l` when `strict`): left rows from
 * `i0` while the entry has right rows, advancing its cursor `r0`; stops before the first left row
 * that needs the next entry (the entry ran out while passing right rows). Returns the cursor; the
 * row it stopped at and the unmatched count go to `spanOut`.
 */
function span(
  strict: boolean,
  m: AsofMerge,
  on: Float64Array,
  keys: Int32Array,
  i0: number,
  stop: number,
  ets: Float64Array,
  ek: Int32Array,
  v0: Float64Array,
  v1: Float64Array,
  r0: number,
  len: number,
  slot: number,
  tol: number,
  o0: Float64Array,
  o1: Float64Array,
  bits: Uint8Array,
  from: number,
): number {
  const mTs = m.mTs;
  const mSlot = m.mSlot;
  const mRowOf = m.mRowOf;
  const mV0 = m.mV0;
  const mV1 = m.mV1;
  let r = r0;
  let i = i0;
  let nulls = 0;
  for (; i < stop; i++) {
    const l = on[i];
    while (r < len && (strict ? ets[r] < l : ets[r] <= l)) {
      const k = ek[r] + 1;
      mTs[k] = ets[r];
      mSlot[k] = slot;
      mRowOf[k] = r;
      mV0[k] = v0[r];
      mV1[k] = v1[r];
      r++;
    }
    if (r === len) break;
    const kl = keys[i] + 1;
    const o = i - from;
    o0[o] = mV0[kl];
    o1[o] = mV1[kl];
    if (kl > 0 && l - mTs[kl] <= tol) bits[o >> 3] |= 1 << (o & 7);
    else nulls++;
  }
  spanOut[0] = i;
  spanOut[1] = nulls;
  return r;
}

/**
 * How far from `from` the left rows are final for backward matching under watermark `w` (`w > l`,
 * `w >= l` without exact matches; NaN rows never wait): the index of the first that is not.
 */
export function releasable(on: Float64Array, from: number, n: number, w: number, allowEq: boolean): number {
  let i = from;
  if (allowEq) while (i < n && (w > on[i] || Number.isNaN(on[i]))) i++;
  else while (i < n && (w >= on[i] || Number.isNaN(on[i]))) i++;
  return i;
}

/**
 * {@link releasable} for `on[from..n)` non-decreasing and free of NaN: by binary search.
 */
export function releasableSorted(
  on: Float64Array,
  from: number,
  n: number,
  w: number,
  allowEq: boolean,
): number {
  let lo = from;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (allowEq ? w > on[mid] : w >= on[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Move the prune cursor to the left lower bound `n` (past rows with `on <= n`, or `on < n` without
 * exact matches) and drop what {@link droppable} would: each key's rows superseded there, and its
 * prevailing row once older than `n − tol`. `dropped(slot, count)` is called once per slot that
 * lost rows, in slot order.
 */
export function mergePrune(
  m: AsofMerge,
  n: number,
  allowEq: boolean,
  tol: number,
  dropped: (slot: number, count: number) => void,
): void {
  // The loops run in a function of their own, without the callback: code that V8 compiles while
  // a long loop runs (on-stack replacement) is entered again by every later call, and a call
  // target it did not expect (another join's callback) would leave it each time.
  const maxSlot = prunePass(m, n, allowEq, tol);
  const drops = m.drops;
  for (let q = 0; q <= maxSlot; q++)
    if (drops[q] > 0) {
      const c = drops[q];
      drops[q] = 0;
      dropped(q, c);
    }
  m.compact();
}

/** {@link mergePrune}'s cursor pass: counts the drops per slot in `m.drops`; returns the largest slot. */
function prunePass(m: AsofMerge, n: number, allowEq: boolean, tol: number): number {
  const log = m.log;
  const pTs = m.pTs;
  const pSlot = m.pSlot;
  const pRowOf = m.pRowOf;
  const pLive = m.pLive;
  const pRank = m.pRank;
  const count = m.count;
  const keyCount = m.keyCount;
  let maxSlot = 0;
  for (let e = m.pEntry; e < log.length; e++) if (log[e].slot > maxSlot) maxSlot = log[e].slot;
  for (let k = 0; k < pLive.length; k++) if (pLive[k] === 1 && pSlot[k] > maxSlot) maxSlot = pSlot[k];
  if (m.drops.length <= maxSlot) m.drops = sharedArray(Int32Array, Math.max(maxSlot + 1, m.drops.length * 2));
  const drops = m.drops;
  const walkSeen = m.walkSeen;
  const walkLast = m.walkLast;
  const walkKeys = m.walkKeys;
  let e = m.pEntry;
  let r = m.pRow;
  for (; e < log.length; e++, r = 0) {
    const ent = log[e];
    const ets = ent.on;
    const ek = ent.keys;
    const rank = ent.rank;
    const len = ent.length;
    const slot = ent.slot;
    // The entry's `on` values are non-decreasing (rows not retained hold the running max): the
    // rows passed, `r..stop-1`, end where a binary search says.
    let lo = r;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (allowEq ? ets[mid] <= n : ets[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    const stop = lo;
    // Per key, all rows passed but the last are superseded, and its previous prevailing row by the
    // first: only each key's last row passed matters, and how many rows it had there (the
    // difference of ranks). A walk back from `stop` finds the last rows; it ends early once every
    // key is seen.
    let seen = 0;
    for (let q = stop - 1; q >= r && seen < keyCount; q--) {
      const k = ek[q];
      if (k >= 0 && walkSeen[k] === 0) {
        walkSeen[k] = 1;
        walkKeys[seen++] = k;
        walkLast[k] = q;
      }
    }
    for (let q = 0; q < seen; q++) {
      const k = walkKeys[q];
      walkSeen[k] = 0;
      const last = walkLast[k];
      const c = rank[last] - pRank[k];
      if (pLive[k] === 1) {
        count[k]--;
        drops[pSlot[k]]++;
      }
      count[k] -= c - 1;
      drops[slot] += c - 1;
      pTs[k] = ets[last];
      pSlot[k] = slot;
      pRowOf[k] = last;
      pRank[k] = rank[last];
      pLive[k] = 1;
    }
    r = stop;
    if (r < len) break;
  }
  m.pEntry = e;
  m.pRow = e < log.length ? r : 0;
  const horizon = n - tol;
  for (let k = 0; k < pLive.length; k++)
    if (pLive[k] === 1 && pTs[k] < horizon) {
      pLive[k] = 0;
      count[k]--;
      drops[pSlot[k]]++;
    }
  return maxSlot;
}

/**
 * Run the merge kernels over a few rows through each of their branches, once, at module load.
 *
 * Why: V8 compiles a long-running loop while it runs (on-stack replacement) with the type feedback
 * gathered so far; code not yet run at that point (the lines after the loop, a branch not taken
 * yet) is compiled as an exit back to the interpreter. The stream calls each kernel once per
 * batch, and every call re-entered the same compiled loop and left it at such an exit, so on the
 * bench the first two runs of a 10M-row join went 1.3-1.5x slower until V8 recompiled the whole
 * function. With every branch run once here, the first compiled code covers them all.
 */
function primeKernels(): void {
  // V8 allocates a function's feedback vector only after several calls (lazy feedback
  // allocation): calls before that record nothing, hence the repetitions.
  for (let i = 0; i < PRIME_CALLS; i++) primeOnce();
}

const PRIME_CALLS = 12;

function primeOnce(): void {
  const res: RightScan = { max: 0, late: 0, live: 0 };
  const scan: LeftScan = { max: 0, min: 0, sorted: true, late: 0 };
  const drop = (_slot: number, _count: number): void => {};
  matchBits(new Int32Array([0, -1, 2, 3, 4, 5, 6, 7, -1, 1, 2]), 11, new Uint8Array(2));
  scanLeft(new BigInt64Array([3n, 1n, 2n]), new Float64Array(3), 0, 0, scan);
  for (const nv of [2, 0, 3, 1]) {
    for (const allowEq of [true, false]) {
      const m = new AsofMerge();
      m.ensureKeys(2);
      m.setValues(nv);
      const rightOn = [
        new BigInt64Array([1n, 2n, 2n, 3n, 0n]),
        new Float64Array([4, Number.NaN, 5, 6, 2]),
        new Float64Array([7, 8, 9]),
      ];
      const rightKeys = [new Int32Array([0, 1, 0, -1, 1]), undefined, new Int32Array([0, 1, 1])];
      for (let b = 0; b < rightOn.length; b++) {
        const e = m.entry(rightOn[b].length, b);
        // Lateness 1 makes the last row of the first batch late; the second batch's last row is
        // out of order (lateness 0) and the third passes max_right_rows_per_key: both refused.
        const lateness = b === 0 ? 1 : 0;
        const maxRows = b === 2 ? 2 : 10;
        if (mergeAppend(m, e, rightOn[b], rightKeys[b], res.max, lateness, maxRows, res)) m.log.push(e);
        else {
          e.length = b === 1 ? 3 : 1;
          mergeAppend(
            m,
            e,
            rightOn[b].subarray(0, e.length),
            rightKeys[b]?.subarray(0, e.length),
            res.max,
            0,
            10,
            res,
          );
          m.log.push(e);
        }
        e.vals = [];
        for (let c = 0; c < nv; c++) e.vals.push(new Float64Array(e.length).fill(c));
      }
      const left = [new BigInt64Array([1n, 2n, 3n, 6n]), new Float64Array([5, Number.NaN, 4, 9])];
      const leftKeys = [new Int32Array([0, 1, -1, 0]), undefined];
      for (let b = 0; b < left.length; b++) {
        const on = new Float64Array(left[b].length);
        scanLeft(left[b], left[b] instanceof BigInt64Array ? on : undefined, 3, 1, scan);
        const src = left[b] instanceof BigInt64Array ? on : (left[b] as Float64Array);
        const stop = releasable(src, 0, src.length, b === 0 ? 7 : Number.POSITIVE_INFINITY, allowEq);
        releasableSorted(on, 0, on.length, 2, allowEq);
        const outRow = new Int32Array(src.length);
        const outVals = nv > 0 ? Array.from({ length: nv }, () => new Float64Array(src.length)) : undefined;
        if (outVals !== undefined && nv <= 2)
          mergeMatchCarried(m, src, leftKeys[b], 0, stop, allowEq, 2, outVals, new Uint8Array(1));
        else
          mergeMatch(m, src, leftKeys[b], 0, stop, allowEq, 2, new Int32Array(src.length), outRow, outVals);
        mergePrune(m, b === 0 ? 3 : 8, allowEq, 1, drop);
      }
    }
  }
}

primeKernels();
