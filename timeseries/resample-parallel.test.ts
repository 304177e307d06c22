import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dictionaryVector, tableFromVectors, timestampVector } from './arrow.ts';
import { errorOf, randomTrades } from './operator-testing.ts';
import { closePool, setParallelism } from './parallel/pool.ts';
import { isSharedVector, shareTable } from './parallel/shared.ts';
import {
  RESAMPLE_PARALLEL_MIN_ROWS,
  type ResampleOptions,
  resampleOhlcv,
  setResampleParallelMinRows,
} from './resample.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;
const S = 1e6;
const SYMBOLS = ['A', 'B', 'C'];

interface Gen {
  n: number;
  seed?: number;
  /** Mean gap between rows, in seconds (some gaps are 0: equal times). */
  gapS?: number;
  /** Share of rows with a null price, key and size. */
  nulls?: number;
  start?: number;
}

/** Time-ordered trades: ts, symbol (dictionary), price, size (fractional). */
const trades = ({ n, seed = 1, gapS = 7, nulls = 0, start = T0 }: Gen): Table =>
  randomTrades({
    n,
    seed,
    symbols: SYMBOLS,
    start,
    gapUs: gapS * S,
    moveShare: 0.8,
    nulls,
    nullKeys: nulls,
    priceTick: 0.1,
    wholeSizes: false,
  });

type Row = Record<string, unknown>;

const rowsOf = (t: Table): Row[] =>
  t.toArray().map((r) => {
    const o = { ...r.toJSON() } as Row;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'bigint') o[k] = Number(v);
    return o;
  });

function at(threads: number, table: Table, opts: ResampleOptions): Table {
  setParallelism(threads);
  try {
    return resampleOhlcv(table, opts);
  } finally {
    setParallelism(undefined);
  }
}

/**
 * The bars on `threads` threads against one thread: equal, with volume and vwap within 1e-12
 * relative (sums of a window cut by a range boundary are added per range). Returns whether the
 * parallel path ran (its output is in shared memory).
 */
function expectSameBars(table: Table, opts: ResampleOptions, threads = 2): boolean {
  const one = at(1, table, opts);
  const many = at(threads, table, opts);
  const fields = (t: Table) => t.schema.fields.map((f) => `${f.name}: ${f.type}`);
  expect(fields(many)).toEqual(fields(one));
  const a = rowsOf(one);
  const b = rowsOf(many);
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    const y = b[i];
    for (const f of ['volume', 'vwap']) {
      const u = x[f] as number | null;
      const v = y[f] as number | null;
      if (u === null) expect(v, `${f} of bar ${i}`).toBeNull();
      else expect(Math.abs((v as number) - u), `${f} of bar ${i}`).toBeLessThanOrEqual(1e-12 * Math.abs(u));
    }
    expect({ ...y, volume: 0, vwap: 0 }).toEqual({ ...x, volume: 0, vwap: 0 });
  });
  // A column without rows has no buffers, so it counts as shared whichever path built it.
  if (one.numRows > 0) expect(isSharedVector(one.getChild('open')!)).toBe(false);
  return isSharedVector(many.getChild('open')!);
}

describe('resampleOhlcv on the worker pool', () => {
  // Boot the 4 workers the tests use once, with time to spare on a busy machine (each loads the
  // TypeScript sources through tsx).
  beforeAll(() => {
    setResampleParallelMinRows(1);
    at(4, shareTable(trades({ n: 100 })), { every: '1m' });
  }, 60_000);
  beforeEach(() => setResampleParallelMinRows(1));
  afterAll(async () => {
    setResampleParallelMinRows(undefined);
    setParallelism(undefined);
    await closePool();
  });

  const options: [string, ResampleOptions][] = [
    ['1m by symbol', { every: '1m', by: 'symbol' }],
    [
      'closed right, label right, boundaries, first/last ts',
      {
        every: '1m',
        by: 'symbol',
        closed: 'right',
        label: 'right',
        includeBoundaries: true,
        includeFirstLastTs: true,
      },
    ],
    [
      'period 3m, closed both: rows in several windows',
      { every: '1m', period: '3m', closed: 'both', by: 'symbol' },
    ],
    [
      'period 20s, closed none, offset: rows in no window',
      {
        every: '1m',
        period: '20s',
        closed: 'none',
        offset: '7s',
        by: 'symbol',
      },
    ],
    ['time_key order, no key', { every: '30s', order: 'time_key' }],
    ['calendar days', { every: '1d', by: 'symbol', includeFirstLastTs: true }],
  ];
  const shared = shareTable(trades({ n: 5000 }));
  for (const [name, opts] of options)
    it(`gives the single-threaded bars on 2 and 3 threads: ${name}`, () => {
      expect(expectSameBars(shared, opts, 2)).toBe(true);
      expect(expectSameBars(shared, opts, 3)).toBe(true);
    });

  it('handles null prices, sizes and keys, plain utf8 keys and several key columns (converted columns go to shared memory)', () => {
    const t = trades({ n: 4000, seed: 3, nulls: 0.1 });
    const n = t.numRows;
    const venue = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 3 ? 'X' : 'Y'));
    const withVenue = tableFromVectors({
      ts: t.getChild('ts')!,
      symbol: t.getChild('symbol')!,
      venue: vectorFromArray(venue, new Utf8()),
      price: t.getChild('price')!,
      size: t.getChild('size')!,
    });
    const s = shareTable(withVenue);
    expect(expectSameBars(s, { every: '1m', by: 'symbol', includeFirstLastTs: true })).toBe(true);
    expect(expectSameBars(s, { every: '1m', by: 'venue' })).toBe(true);
    expect(expectSameBars(s, { every: '1m', by: ['venue', 'symbol'], period: '2m' })).toBe(true);
  });

  it('splits ranges across record batches', () => {
    const a = trades({ n: 700, seed: 4 });
    const b = trades({ n: 1300, seed: 5, start: T0 + 700 * 7 * S * 2 });
    const c = shareTable(new Table([...a.batches, ...b.batches]));
    expect(c.batches.length).toBe(2);
    expect(expectSameBars(c, { every: '1m', by: 'symbol' }, 2)).toBe(true);
    expect(expectSameBars(c, { every: '1m', by: 'symbol', closed: 'both', period: '5m' }, 3)).toBe(true);
    // Slices: chunks whose values start inside their buffers.
    expect(expectSameBars(c.slice(333, 1777), { every: '1m', by: 'symbol' }, 2)).toBe(true);
    expect(expectSameBars(shared.slice(17, 4321), { every: '1m', by: 'symbol' }, 3)).toBe(true);
  });

  it('gives the same bars when there are fewer rows than threads, or no bars at all', () => {
    expect(expectSameBars(shareTable(trades({ n: 1 })), { every: '1m', by: 'symbol' }, 3)).toBe(true);
    expect(expectSameBars(shareTable(trades({ n: 2 })), { every: '1m', by: 'symbol' }, 4)).toBe(true);
    const noPrice = shareTable(trades({ n: 50, nulls: 1 }));
    expect(at(2, noPrice, { every: '1m', by: 'symbol' }).numRows).toBe(0);
  });

  it('runs on one thread for fill, time zones, first observation, unshared input, small input or one thread', () => {
    for (const opts of [
      { every: '1m', by: 'symbol', fill: 'prev' as const },
      { every: '1m', by: 'symbol', timeZone: 'America/New_York' },
      { every: '1m', by: 'symbol', align: 'first_observation' as const },
    ])
      expect(expectSameBars(shared, opts), JSON.stringify(opts)).toBe(false);
    expect(expectSameBars(trades({ n: 5000 }), { every: '1m', by: 'symbol' })).toBe(false);
    setResampleParallelMinRows(5001);
    expect(expectSameBars(shared, { every: '1m', by: 'symbol' })).toBe(false);
    expect(isSharedVector(at(1, shared, { every: '1m' }).getChild('open')!)).toBe(false);
  });

  it(`takes the pool by default from ${RESAMPLE_PARALLEL_MIN_ROWS} rows`, () => {
    setResampleParallelMinRows(undefined);
    const big = shareTable(trades({ n: RESAMPLE_PARALLEL_MIN_ROWS, gapS: 0.01 }));
    expect(expectSameBars(big, { every: '1m', by: 'symbol' })).toBe(true);
    expect(expectSameBars(shareTable(big.slice(1)), { every: '1m', by: 'symbol' })).toBe(false);
  });

  it('raises the single-threaded error for time going back within a range or across a range boundary', () => {
    const n = 2000;
    const base = trades({ n, seed: 6 });
    const ts = Float64Array.from(base.getChild('ts')!.toArray() as BigInt64Array, Number);
    const sym = base.getChild('symbol')!.data[0].values as Int32Array;
    // Rows just after the 2-thread boundary (row 1000) for a row 999 of the same key: a time
    // before it is out of order across the boundary; further rows, within the second range.
    const cases = [
      { row: 1000, at: ts[999] - 1, key: sym[999] },
      { row: 1500, at: ts[1400] - 1, key: sym[1400] },
      { row: 10, at: ts[5] - 1, key: sym[5] },
    ];
    for (const c of cases) {
      const t2 = Float64Array.from(ts);
      const s2 = Int32Array.from(sym);
      t2[c.row] = c.at;
      s2[c.row] = c.key;
      const bad = shareTable(
        tableFromVectors({
          ts: timestampVector(t2),
          symbol: dictionaryVector(s2, SYMBOLS),
          price: base.getChild('price')!,
          size: base.getChild('size')!,
        }),
      );
      const opts: ResampleOptions = { every: '1m', by: 'symbol' };
      const one = errorOf(() => at(1, bad, opts));
      expect(one.message).toContain(`within key symbol=${SYMBOLS[c.key]}: row ${c.row} is at ${c.at} µs`);
      for (const threads of [2, 3]) {
        const many = errorOf(() => at(threads, bad, opts));
        expect(many.constructor).toBe(one.constructor);
        expect({ code: (many as { code?: string }).code, message: many.message }).toEqual({
          code: 'RESAMPLE_UNSORTED',
          message: one.message,
        });
      }
      expect(errorOf(() => at(2, bad, { ...opts, period: '2m', closed: 'both' })).message).toBe(
        errorOf(() => at(1, bad, { ...opts, period: '2m', closed: 'both' })).message,
      );
    }
  });

  it('raises the single-threaded error for window options the grid refuses', () => {
    const opts: ResampleOptions = { every: '1m', period: '1mo', by: 'symbol' };
    for (const t of [shared, shareTable(trades({ n: 50, nulls: 1 }))]) {
      const one = errorOf(() => at(1, t, opts));
      expect(one.name).toBe('WindowConfigError');
      const many = errorOf(() => at(2, t, opts));
      expect([many.constructor, many.message]).toEqual([one.constructor, one.message]);
    }
  });

  it('runs an empty table on this thread whatever the threshold', () => {
    setResampleParallelMinRows(0);
    const empty = trades({ n: 0 });
    expect(rowsOf(at(2, empty, { every: '1m', by: 'symbol' }))).toEqual([]);
  });

  it('gives the single-threaded bars for any data, options and thread count (property)', () => {
    const opts = fc.constantFrom<ResampleOptions>(
      { every: '1m', by: 'symbol' },
      { every: '1m', by: 'symbol', closed: 'both', period: '2m' },
      { every: '30s', closed: 'right', label: 'right' },
      { every: '1m', by: 'symbol', period: '20s', offset: '-5s', includeFirstLastTs: true },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom(0, 0.2),
        opts,
        fc.integer({ min: 2, max: 4 }),
        (n, seed, nulls, o, threads) => {
          expect(expectSameBars(shareTable(trades({ n, seed, nulls, gapS: 3 })), o, threads)).toBe(true);
        },
      ),
      // The first example has one row with a null price: no bars at all.
      { numRuns: 40, examples: [[1, 866, 0.2, { every: '1m', by: 'symbol' }, 2]] },
    );
  });
});
