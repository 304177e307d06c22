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
