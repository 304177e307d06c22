import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BarBuffer, orderBars, ResampleEngine, type ResampleKernelOptions } from './resample.ts';
import { type KeyTimes, mergePartBars, sortedAcrossParts } from './resample-merge.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;
const S = 1e6;

interface Cols {
  ts: Float64Array;
  keys: Int32Array;
  price: Float64Array;
  size: Float64Array;
}

function cols(rows: { t: number; k?: number; p: number; s?: number }[]): Cols {
  return {
    ts: new Float64Array(rows.map((r) => r.t)),
    keys: new Int32Array(rows.map((r) => r.k ?? 0)),
    price: new Float64Array(rows.map((r) => r.p)),
    size: new Float64Array(rows.map((r) => r.s ?? 1)),
  };
}

/** Bars and key times of the batch engine over rows [from, to), as a worker returns them. */
function range(c: Cols, opts: ResampleKernelOptions, keyCount: number, from: number, to: number) {
  const e = new ResampleEngine({ ...opts, mode: 'batch' });
  e.push(c.ts, c.keys, c.price, c.size, { from, to, keyCount });
  e.flush();
  return { bars: e.out, ...e.keyTimeRanges() };
}

/** The bars in output order (key, then window), one object each. */
function rowsOf(b: BarBuffer) {
  return Array.from(orderBars(b, 'key_time'), (i) => ({
    key: b.key[i],
    k: b.k[i],
    start: b.start[i],
    end: b.end[i],
    open: b.open[i],
    high: b.high[i],
    low: b.low[i],
    close: b.close[i],
    volume: b.volume[i],
    vwap: b.vwap[i],
    pv: b.pv[i],
    trades: b.trades[i],
    firstTs: b.firstTs[i],
    lastTs: b.lastTs[i],
  }));
}

/**
 * Merged bars of the ranges cut at `cuts` against one engine over all rows: equal, except that
 * the sums (volume, Σ price·size, vwap) may differ in the last bits when sizes are fractional.
 */
function expectSplitInvariant(c: Cols, opts: ResampleKernelOptions, keyCount: number, cuts: number[]): void {
  const n = c.ts.length;
  const whole = range(c, opts, keyCount, 0, n);
  const bounds = [0, ...cuts, n];
  const parts = bounds.slice(1).map((to, j) => range(c, opts, keyCount, bounds[j], to));
  expect(sortedAcrossParts(parts)).toBe(true);
  const got = rowsOf(mergePartBars(parts.map((p) => p.bars)));
  const want = rowsOf(whole.bars);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i];
    for (const f of ['volume', 'vwap', 'pv'] as const) {
      if (Number.isNaN(w[f])) expect(g[f], f).toBeNaN();
      else expect(Math.abs(g[f] - w[f]), f).toBeLessThanOrEqual(1e-12 * Math.abs(w[f]));
    }
    expect({ ...g, volume: 0, vwap: 0, pv: 0 }).toEqual({ ...w, volume: 0, vwap: 0, pv: 0 });
  });
}

const rows = [
  { t: T0, k: 0, p: 10, s: 1 },
  { t: T0 + 30 * S, k: 1, p: 20, s: 2 },
  { t: T0 + 59 * S, k: 0, p: 12, s: Number.NaN },
  { t: T0 + 60 * S, k: 0, p: 11, s: 3 },
  { t: T0 + 60 * S, k: 1, p: 21, s: 1 },
  { t: T0 + 61 * S, k: 0, p: Number.NaN, s: 5 },
  { t: T0 + 90 * S, k: 0, p: 9, s: 2 },
  { t: T0 + 120 * S, k: 1, p: 22, s: 4 },
  { t: T0 + 150 * S, k: 0, p: 13, s: 1 },
  { t: T0 + 180 * S, k: 0, p: 14, s: Number.NaN },
];

describe('mergePartBars', () => {
  const cases: [string, ResampleKernelOptions][] = [
    ['1m windows', { every: '1m' }],
    ['closed right, label right', { every: '1m', closed: 'right', label: 'right' }],
    ['closed both: a row on a boundary is in two windows', { every: '1m', closed: 'both' }],
    ['closed none: a row on a boundary is in none', { every: '1m', closed: 'none' }],
    ['period 3m > every: each row is in three windows', { every: '1m', period: '3m' }],
    ['period 30s < every: rows in the gaps are in no window', { every: '1m', period: '30s' }],
    ['offset 10s', { every: '1m', offset: '10s' }],
    ['calendar days', { every: '1d', period: '2d' }],
  ];
  for (const [name, opts] of cases)
    it(`gives the bars of one pass for a cut at every row, and at two rows (${name})`, () => {
      const c = cols(rows);
      for (let a = 0; a <= rows.length; a++) expectSplitInvariant(c, opts, 2, [a]);
      for (let a = 0; a <= rows.length; a++)
        for (let b = a; b <= rows.length; b++) expectSplitInvariant(c, opts, 2, [a, b]);
    });

  it('combines a window cut in three: open and first time from the first range, close and last time from the last', () => {
    const c = cols([
      { t: T0 + 1 * S, p: 5, s: 1 },
      { t: T0 + 2 * S, p: 7, s: 2 },
      { t: T0 + 3 * S, p: 3, s: Number.NaN },
      { t: T0 + 4 * S, p: 6, s: 4 },
    ]);
    const parts = [0, 1, 3].map((from, j) => range(c, { every: '1m' }, 1, from, [1, 3, 4][j]).bars);
    const [bar] = rowsOf(mergePartBars(parts));
    expect(bar).toEqual({
      key: 0,
      k: bar.k,
      start: T0,
      end: T0 + 60 * S,
      open: 5,
      high: 7,
      low: 3,
      close: 6,
      volume: 7,
      vwap: (5 + 14 + 24) / 7,
      pv: 5 + 14 + 24,
      trades: 4,
      firstTs: T0 + 1 * S,
      lastTs: T0 + 4 * S,
    });
  });

  it('gives a null vwap when no part of the window has a size', () => {
    const c = cols([
      { t: T0, p: 5, s: Number.NaN },
      { t: T0 + S, p: 6, s: Number.NaN },
    ]);
    const merged = mergePartBars([
      range(c, { every: '1m' }, 1, 0, 1).bars,
      range(c, { every: '1m' }, 1, 1, 2).bars,
    ]);
    expect(merged.length).toBe(1);
    expect(merged.volume[0]).toBe(0);
    expect(merged.vwap[0]).toBeNaN();
    expect(merged.trades[0]).toBe(2);
  });

  it('returns no bars for no parts or empty ones', () => {
    expect(mergePartBars([]).length).toBe(0);
    const c = cols(rows);
    expect(
      mergePartBars([range(c, { every: '1m' }, 2, 0, 0).bars, range(c, { every: '1m' }, 2, 3, 3).bars])
        .length,
    ).toBe(0);
  });

  it('gives the bars of one pass for any cut points (property; fractional sizes: sums within 1e-12)', () => {
    const row = fc.record({
      dt: fc.integer({ min: 0, max: 90 }),
      k: fc.integer({ min: 0, max: 2 }),
      p: fc.oneof(fc.double({ min: 1, max: 1000, noNaN: true }), fc.constant(Number.NaN)),
      s: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(Number.NaN)),
    });
    const opts = fc.constantFrom<ResampleKernelOptions>(
      { every: '1m' },
      { every: '1m', closed: 'right' },
      { every: '1m', closed: 'both', period: '2m' },
      { every: '1m', period: '30s', offset: '15s' },
      { every: '30s', closed: 'none' },
    );
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 60 }),
        opts,
        fc.array(fc.nat(), { maxLength: 4 }),
        (rs, o, cutSeeds) => {
          const times: number[] = [];
          for (const r of rs) times.push((times.at(-1) ?? T0) + r.dt * S);
          const c = cols(rs.map((r, i) => ({ t: times[i], k: r.k, p: r.p, s: r.s })));
          const cuts = cutSeeds.map((x) => x % (rs.length + 1)).sort((a, b) => a - b);
          expectSplitInvariant(c, o, 3, cuts);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('sortedAcrossParts', () => {
  const kt = (first: number[], last: number[]): KeyTimes => ({
    first: Float64Array.from(first),
    last: Float64Array.from(last),
  });
  const N = Number.NaN;

  it('accepts each key in order across parts, equal times included, and keys missing from parts', () => {
    expect(sortedAcrossParts([kt([1, 5], [4, 6]), kt([4, N], [9, N]), kt([9, 6], [9, 7])])).toBe(true);
    expect(sortedAcrossParts([kt([], []), kt([1], [2])])).toBe(true);
    expect(sortedAcrossParts([])).toBe(true);
  });

  it('refuses a key whose first time in a part is before its last time in an earlier part', () => {
    expect(sortedAcrossParts([kt([1, 5], [4, 6]), kt([3, 7], [9, 8])])).toBe(false);
    // The earlier part is not the adjacent one: key 0 is absent from the middle part.
    expect(sortedAcrossParts([kt([1], [8]), kt([N], [N]), kt([7], [9])])).toBe(false);
  });

  it('reads the key times the engine reports, rows without a price left out', () => {
    const c = cols([
      { t: T0 + 5 * S, k: 1, p: Number.NaN },
      { t: T0 + 6 * S, k: 0, p: 1 },
      { t: T0 + 7 * S, k: 1, p: 2 },
      { t: T0 + 4 * S, k: 1, p: Number.NaN },
    ]);
    const whole = range(c, { every: '1m' }, 3, 0, 4);
    expect(Array.from(whole.first.subarray(0, 3))).toEqual([T0 + 6 * S, T0 + 7 * S, N]);
    expect(Array.from(whole.last.subarray(0, 3))).toEqual([T0 + 6 * S, T0 + 7 * S, N]);
    const unsorted = cols([
      { t: T0 + 5 * S, p: 1 },
      { t: T0 + 4 * S, p: 1 },
    ]);
    const one = (o: ResampleKernelOptions) => [range(unsorted, o, 1, 0, 1), range(unsorted, o, 1, 1, 2)];
    expect(sortedAcrossParts(one({ every: '1m' }))).toBe(false);
    // A row in no window (period < every) still counts for the key's time range.
    const gap = cols([
      { t: T0 + 50 * S, p: 1 },
      { t: T0 + 40 * S, p: 1 },
    ]);
    const parts = [
      range(gap, { every: '1m', period: '30s' }, 1, 0, 1),
      range(gap, { every: '1m', period: '30s' }, 1, 1, 2),
    ];
    expect(parts[0].bars.length).toBe(0);
    expect(sortedAcrossParts(parts)).toBe(false);
  });
});
