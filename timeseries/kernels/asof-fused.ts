/**
 * Fused backward as-of join over int64 `on` values (e.g. µs timestamps) in global time order: one
 * merge of both sides that writes each left row's right values and validity bit directly, with no
 * index array and no second gather pass.
 *
 * As the right cursor advances, each key keeps its prevailing right row and that row's `on` value;
 * a left row reads its key's entry, checks the tolerance, and copies the right row's values from
 * the source columns (the row is recent, so the read is cache-hot). Matching is exactly that of the
 * backward merge in kernels/asof.ts (`mergeBackwardWords`): the last right row per key with
 * `on <= left` (`<` without exact matches), inclusive tolerance, negative keys never match.
 *
 * The merge runs over a range of left rows, so threads can split the left side: a range that does
 * not start at row 0 first seeds each key's prevailing row by walking back from its right start
 * (see {@link planBackwardParts}); the result does not depend on how the rows were split.
 *
 * Values are int64 given as little-endian 32-bit word pairs (value = hi * 2^32 + lo, exact below
 * 2^53). The kernel returns -1 (outputs unspecified) as soon as either side is not in global
 * order, or exact matches are excluded and a left value is beyond 2^53; the caller then takes the
 * general path, which handles input sorted per key only and reports unsorted input.
 */

import { type NativeFusedPart, nativeKernels } from './native.ts';

const TWO_32 = 4294967296;
const TWO_53 = 2 ** 53;

/**
 * Right value columns copied by the fused merge, grouped by element width so each loop sees one
 * typed-array type. A source and its output are views of the same kind over the column's bytes:
 * float64 as Float64Array, other 64-bit types as Int32Array word pairs, 32/16/8-bit types as
 * Int32Array / Int16Array / Uint8Array (bit copies, so float32 and unsigned types are kept as they
 * are). Each output has one slot per left row (two words for 64-bit).
 */
export interface FusedColumns {
  f64: Float64Array[];
  f64Out: Float64Array[];
  w64: Int32Array[];
  w64Out: Int32Array[];
  w32: Int32Array[];
  w32Out: Int32Array[];
  w16: Int16Array[];
  w16Out: Int16Array[];
  w8: Uint8Array[];
  w8Out: Uint8Array[];
}

/** An empty set of fused columns, to fill per width. */
export function fusedColumns(): FusedColumns {
  return {
    f64: [],
    f64Out: [],
    w64: [],
    w64Out: [],
    w32: [],
    w32Out: [],
    w16: [],
    w16Out: [],
    w8: [],
    w8Out: [],
  };
}

/** One fused backward merge over left rows `[from, to)` and the right rows `[jFrom, jTo)`. */
export interface FusedPart {
  /** Left and right `on` values as word pairs. */
  left: Int32Array;
  right: Int32Array;
  /** Key codes (`0..nKeys-1`, negative: null key) of both sides, or undefined without keys. */
  leftKeys: Int32Array | undefined;
  rightKeys: Int32Array | undefined;
  /** Number of key codes (1 without keys). */
  nKeys: number;
  /** Inclusive bound on `left - right`; Infinity for none. */
  tolerance: number;
  allowExactMatches: boolean;
  columns: FusedColumns;
  /** One bit per left row (LSB first), set where a right row matched; bytes of the range only. */
  validity: Uint8Array;
  /** When given, the matched right row per left row (-1: none), for columns gathered by index. */
  index: Int32Array | undefined;
  /** Left rows to join; `from` is a multiple of 8 so ranges write disjoint validity bytes. */
  from: number;
  to: number;
  /** Right rows this range may consume: the first right row after `from`'s matches, and the end. */
  jFrom: number;
  jTo: number;
}

/**
 * Left rows matched per block before their values are copied: 32 KB of indices that stay in
 * cache (on the bench data 8192 rows ran about 6% faster than 2048).
 */
const BLOCK = 8192;

/**
 * Run the fused backward merge over one part. Returns the number of unmatched left rows in the
 * range, or -1 when the input is not in global order (see the module comment). Runs the native
 * kernel (native/asof_fused.c: the same contract and results, about twice as fast) when it is
 * loaded, else {@link asofBackwardFusedJs}.
 */
export function asofBackwardFused(p: FusedPart): number {
  const native = nativeKernels();
  return native === undefined ? asofBackwardFusedJs(p) : native.asofBackwardFused(nativePart(p));
}

/** A part as the native kernel takes it: the value columns as one list with their row widths. */
export function nativePart(p: FusedPart): NativeFusedPart {
  const { f64, f64Out, w64, w64Out, w32, w32Out, w16, w16Out, w8, w8Out } = p.columns;
  return {
    left: p.left,
    right: p.right,
    leftKeys: p.leftKeys,
    rightKeys: p.rightKeys,
    nKeys: p.nKeys,
    tolerance: p.tolerance,
    allowExactMatches: p.allowExactMatches,
    validity: p.validity,
    index: p.index,
    from: p.from,
    to: p.to,
    jFrom: p.jFrom,
    jTo: p.jTo,
    sources: [...f64, ...w64, ...w32, ...w16, ...w8],
    outputs: [...f64Out, ...w64Out, ...w32Out, ...w16Out, ...w8Out],
    widths: [
      ...f64.map(() => 8),
      ...w64.map(() => 8),
      ...w32.map(() => 4),
      ...w16.map(() => 2),
      ...w8.map(() => 1),
    ],
  };
}

/**
 * The TypeScript fused backward merge over one part (see {@link asofBackwardFused}).
 *
 * The merge fills the matched right rows of a block of left rows, then each output column copies
 * its block in a loop of one typed-array type: the right rows just passed are cache-hot, and the
 * merge loop carries no per-column work.
 */
export function asofBackwardFusedJs(p: FusedPart): number {
  const { left, right, leftKeys: lk, rightKeys: rk, nKeys, tolerance: tol, allowExactMatches: allowEq } = p;
  const { from, to, jFrom, jTo } = p;
  if ((from & 7) !== 0) throw new RangeError(`a fused part must start at a multiple of 8, got ${from}`);
  const last = new Int32Array(nKeys).fill(-1);
  // The prevailing right row's `on` value per key; NaN (no row) fails every tolerance test.
  const lastOn = new Float64Array(nKeys).fill(Number.NaN);
  let prevL = Number.NEGATIVE_INFINITY;
  if (from > 0) {
    prevL = left[2 * from - 1] * TWO_32 + (left[2 * from - 2] >>> 0);
    seed(p, last, lastOn);
  }
  let j = jFrom;
  let r = Number.POSITIVE_INFINITY;
  if (j < jTo) {
    r = right[2 * j + 1] * TWO_32 + (right[2 * j] >>> 0);
    // The pair across the start of this part's right rows (the rows before are another part's).
    if (j > 0 && r < right[2 * j - 1] * TWO_32 + (right[2 * j - 2] >>> 0)) return -1;
  }
  const block = new Int32Array(BLOCK);
  let nulls = 0;
  for (let b0 = from; b0 < to; b0 += BLOCK) {
    const b1 = Math.min(to, b0 + BLOCK);
    for (let i = b0; i < b1; i++) {
      const l = left[2 * i + 1] * TWO_32 + (left[2 * i] >>> 0);
      if (l < prevL) return -1;
      prevL = l;
      // Values are integers: `r < l` is `r <= l - 1` while that is exact.
      let lim = l;
      if (!allowEq) {
        if (!(Math.abs(l) < TWO_53)) return -1;
        lim = l - 1;
      }
      while (r <= lim) {
        if (rk === undefined) {
          last[0] = j;
          lastOn[0] = r;
        } else {
          const k = rk[j];
          if (k >= 0) {
            last[k] = j;
            lastOn[k] = r;
          }
        }
        if (++j === jTo) {
          r = Number.POSITIVE_INFINITY;
          break;
        }
        const next = right[2 * j + 1] * TWO_32 + (right[2 * j] >>> 0);
        if (next < r) return -1;
        r = next;
      }
      const k = lk === undefined ? 0 : lk[i];
      block[i - b0] = k >= 0 && k < nKeys && l - lastOn[k] <= tol ? last[k] : -1;
    }
    nulls += copyBlock(p, block, b0, b1);
  }
  // The right rows of this part the merge did not reach must be in order too.
  for (let q = j + 1; q < jTo; q++)
    if (
      right[2 * q + 1] * TWO_32 + (right[2 * q] >>> 0) <
      right[2 * q - 1] * TWO_32 + (right[2 * q - 2] >>> 0)
    )
      return -1;
  return nulls;
}

/**
 * Copy the matched right values of left rows `[b0, b1)` (`block[i - b0]`, -1: none) into the
 * outputs, and their validity bits; returns the number of unmatched rows. Unmatched slots are left
 * as they are (zero in a new output).
 */
function copyBlock(p: FusedPart, block: Int32Array, b0: number, b1: number): number {
  const { f64, f64Out, w64, w64Out, w32, w32Out, w16, w16Out, w8, w8Out } = p.columns;
  const n = b1 - b0;
  for (let c = 0; c < f64.length; c++) {
    const s = f64[c];
    const o = f64Out[c];
    for (let i = 0; i < n; i++) {
      const m = block[i];
      if (m >= 0) o[b0 + i] = s[m];
    }
  }
  for (let c = 0; c < w64.length; c++) {
    const s = w64[c];
    const o = w64Out[c];
    for (let i = 0; i < n; i++) {
      const m = block[i];
      if (m >= 0) {
        o[2 * (b0 + i)] = s[2 * m];
        o[2 * (b0 + i) + 1] = s[2 * m + 1];
      }
    }
  }
  for (let c = 0; c < w32.length; c++) copyNarrow(w32[c], w32Out[c], block, b0, n);
  for (let c = 0; c < w16.length; c++) copyNarrow(w16[c], w16Out[c], block, b0, n);
  for (let c = 0; c < w8.length; c++) copyNarrow(w8[c], w8Out[c], block, b0, n);
  if (p.index !== undefined) p.index.set(block.subarray(0, n), b0);
  // Validity, a byte (8 rows) at a time (`~m >>> 31` is 1 for a row, 0 for -1); b0 is a multiple
  // of 8, so bytes never straddle blocks.
  const validity = p.validity;
  let nulls = 0;
  const full = n & ~7;
  for (let i = 0; i < full; i += 8) {
    const byte =
      (~block[i] >>> 31) |
      ((~block[i + 1] >>> 31) << 1) |
      ((~block[i + 2] >>> 31) << 2) |
      ((~block[i + 3] >>> 31) << 3) |
      ((~block[i + 4] >>> 31) << 4) |
      ((~block[i + 5] >>> 31) << 5) |
      ((~block[i + 6] >>> 31) << 6) |
      ((~block[i + 7] >>> 31) << 7);
    validity[(b0 + i) >> 3] = byte;
    if (byte !== 255) nulls += 8 - POPCOUNT[byte];
  }
  if (full < n) {
    let byte = 0;
    for (let q = full; q < n; q++) byte |= (~block[q] >>> 31) << (q - full);
    validity[(b0 + full) >> 3] = byte;
    nulls += n - full - POPCOUNT[byte];
  }
  return nulls;
}

function copyNarrow<T extends Int32Array | Int16Array | Uint8Array>(
  s: T,
  o: T,
  block: Int32Array,
  b0: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const m = block[i];
    if (m >= 0) o[b0 + i] = s[m];
  }
}

const POPCOUNT = new Uint8Array(256);
for (let b = 1; b < 256; b++) POPCOUNT[b] = (b & 1) + POPCOUNT[b >> 1];

/**
 * Each key's prevailing right row before `jFrom`, as the merge from row 0 would hold it when it
 * reaches left row `from`: walk back until every key has one, or the rows are too old to match
 * any left row of the part (`left[from] - right > tolerance`; left values only grow, so such a row
 * could only give a null, as no row does). Reads rows of other parts, never writes them.
 */
function seed(p: FusedPart, last: Int32Array, lastOn: Float64Array): void {
  const { left, right, rightKeys: rk, nKeys, tolerance: tol, from, jFrom } = p;
  const l = left[2 * from + 1] * TWO_32 + (left[2 * from] >>> 0);
  let missing = nKeys;
  for (let j = jFrom - 1; j >= 0 && missing > 0; j--) {
    const r = right[2 * j + 1] * TWO_32 + (right[2 * j] >>> 0);
    if (l - r > tol) break;
    const k = rk === undefined ? 0 : rk[j];
    if (k >= 0 && last[k] < 0) {
      last[k] = j;
      lastOn[k] = r;
      missing--;
    }
  }
}

/** Rows of one part of a split fused merge (see {@link FusedPart}). */
export interface PartRange {
  from: number;
  to: number;
  jFrom: number;
  jTo: number;
}

/**
 * Split a fused backward merge into at most `nParts` contiguous left ranges (each a multiple of 8
 * rows, but the last) and the right rows each consumes: part p's right rows start at the first
 * right row the merge has not consumed when it reaches the part's first left row (binary search,
 * valid when the right is in order; the parts check that). Returns undefined when the split points
 * are out of order or exact matches are excluded with a left value beyond 2^53: the input is not
 * in global order (or not exactly representable), so the caller takes the single-threaded path.
 */
export function planBackwardParts(
  left: Int32Array,
  right: Int32Array,
  nParts: number,
  allowExactMatches: boolean,
): PartRange[] | undefined {
  const nl = left.length >> 1;
  const nr = right.length >> 1;
  const step = Math.max(8, Math.ceil(nl / Math.max(1, nParts) / 8) * 8);
  // An empty left still gets a part: it checks the order of the right rows.
  const parts: PartRange[] = [];
  for (let from = 0; from === 0 || from < nl; from += step) {
    let jFrom = 0;
    if (from > 0) {
      const l = left[2 * from + 1] * TWO_32 + (left[2 * from] >>> 0);
      if (!allowExactMatches && !(Math.abs(l) < TWO_53)) return undefined;
      jFrom = upperBound(right, nr, allowExactMatches ? l : l - 1);
      if (jFrom < parts[parts.length - 1].jFrom) return undefined;
      parts[parts.length - 1].jTo = jFrom;
    }
    parts.push({ from, to: Math.min(nl, from + step), jFrom, jTo: nr });
  }
  return parts;
}

/** The first row whose value is > `lim` in ascending word pairs (`n` when none). */
function upperBound(words: Int32Array, n: number, lim: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (words[2 * mid + 1] * TWO_32 + (words[2 * mid] >>> 0) <= lim) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
