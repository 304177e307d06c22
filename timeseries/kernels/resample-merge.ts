/**
 * Merging the bars of a parallel batch resample. The rows are split into contiguous ranges, one
 * per worker; each worker resamples its range with its own engine (batch mode, no fill) and returns
 * its bars plus each key's first and last valid time. A window whose rows straddle a range
 * boundary then comes back as one partial bar per range that holds some of its rows; this file
 * combines them into the bar a single pass over all rows makes.
 *
 * Exact for every aggregate but the sums: volume and Σ price·size are added range by range
 * instead of row by row, so volume and vwap can differ from the single pass in the last bits
 * (never for integral sizes below 2^53, whose sums are exact either way).
 */

import { BarBuffer } from './resample.ts';

/**
 * One range's bars: the columns of its BarBuffer that merging reads, up to `length` (a structured
 * clone of the worker's buffer has them).
 */
export type PartBars = Pick<
  BarBuffer,
  | 'length'
  | 'key'
  | 'k'
  | 'start'
  | 'end'
  | 'open'
  | 'high'
  | 'low'
  | 'close'
  | 'volume'
  | 'pv'
  | 'trades'
  | 'firstTs'
  | 'lastTs'
>;

/** One range's first and last valid time per key code (NaN when the key has no row there). */
export interface KeyTimes {
  first: Float64Array;
  last: Float64Array;
}

/**
 * Whether time is sorted per key across the ranges, given each range's key times in row order:
 * a key's first time in a range must not be before its last time in any earlier range (equal
 * times are in order, as in a single pass). Unsortedness inside a range is the range's own check.
 */
export function sortedAcrossParts(parts: readonly KeyTimes[]): boolean {
  let keys = 0;
  for (const p of parts) keys = Math.max(keys, p.first.length);
  for (let key = 0; key < keys; key++) {
    let prev = Number.NEGATIVE_INFINITY;
    for (const p of parts) {
      if (key >= p.first.length || Number.isNaN(p.first[key])) continue;
      if (p.first[key] < prev) return false;
      prev = p.last[key];
    }
  }
  return true;
}

/**
 * The bars of all ranges (given in row order, time sorted per key across them: see
 * {@link sortedAcrossParts}) merged per (key, window): open and first time from the earliest
 * range holding the window, close and last time from the latest, high the max, low
 * the min, volume, Σ price·size and trades summed, vwap = Σ price·size / volume (NaN when the
 * volume is 0). Bars come out by key code, then window, as a single pass emits them per key;
 * revision 0, final.
 */
export function mergePartBars(parts: readonly PartBars[]): BarBuffer {
  let n = 0;
  let keys = 0;
  for (const p of parts) {
    n += p.length;
    for (let i = 0; i < p.length; i++) if (p.key[i] >= keys) keys = p.key[i] + 1;
  }
  // Every bar as (part, row), grouped by key by a counting sort that keeps part order, then
  // emission order: a key's bars are then the concatenation of each part's run, each sorted by
  // window, so an insertion sort by window (stable) moves only the few bars around a boundary.
  const at = new Int32Array(keys + 1);
  for (const p of parts) for (let i = 0; i < p.length; i++) at[p.key[i] + 1]++;
  for (let key = 0; key < keys; key++) at[key + 1] += at[key];
  const part = new Int32Array(n);
  const row = new Int32Array(n);
  const win = new Float64Array(n);
  const fill = at.slice(0, keys);
  parts.forEach((p, j) => {
    for (let i = 0; i < p.length; i++) {
      const o = fill[p.key[i]]++;
      part[o] = j;
      row[o] = i;
      win[o] = p.k[i];
    }
  });
  for (let key = 0; key < keys; key++)
    for (let i = at[key] + 1; i < at[key + 1]; i++) {
      const pj = part[i];
      const rj = row[i];
      const kj = win[i];
      let j = i - 1;
      for (; j >= at[key] && win[j] > kj; j--) {
        part[j + 1] = part[j];
        row[j + 1] = row[j];
        win[j + 1] = win[j];
      }
      part[j + 1] = pj;
      row[j + 1] = rj;
      win[j + 1] = kj;
    }
  const out = new BarBuffer(n);
  let i = 0;
  while (i < n) {
    const p0 = parts[part[i]];
    const r0 = row[i];
    const key = p0.key[r0];
    const k = p0.k[r0];
    let high = p0.high[r0];
    let low = p0.low[r0];
    let vol = p0.volume[r0];
    let pv = p0.pv[r0];
    let trades = p0.trades[r0];
    let last = p0.lastTs[r0];
    let close = p0.close[r0];
    let j = i + 1;
    for (; j < n; j++) {
      const p = parts[part[j]];
      const r = row[j];
      if (p.key[r] !== key || p.k[r] !== k) break;
      if (p.high[r] > high) high = p.high[r];
      if (p.low[r] < low) low = p.low[r];
      vol += p.volume[r];
      pv += p.pv[r];
      trades += p.trades[r];
      last = p.lastTs[r];
      close = p.close[r];
    }
    out.push(
      key,
      k,
      p0.start[r0],
      p0.end[r0],
      p0.open[r0],
      high,
      low,
      close,
      vol,
      vol > 0 ? pv / vol : Number.NaN,
      trades,
      p0.firstTs[r0],
      last,
      0,
      1,
      pv,
    );
    i = j;
  }
  return out;
}
