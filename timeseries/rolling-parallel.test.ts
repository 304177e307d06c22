import {
  type Data,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../pipeline/retry.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { errorOf, randomTrades } from './operator-testing.ts';
import { closePool, setParallelism } from './parallel/pool.ts';
import { isSharedVector, shareTable } from './parallel/shared.ts';
import {
  type Closed,
  ROLLING_PARALLEL_MIN_ROWS,
  type RollingOptions,
  RollingUnsortedError,
  rolling,
  setRollingParallelMinRows,
} from './rolling.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;

interface Gen {
  n: number;
  seed?: number;
  keys?: number;
  /** Share of prices and sizes that are null, and of prices that are NaN. */
  nulls?: number;
  /** Mean gap between rows in µs (30% of the gaps are 0: equal times). */
  gapUs?: number;
}

/** Time-ordered trades: ts, symbol (dictionary of `keys` symbols), price (nulls, NaN), size (nulls). */
const trades = ({ n, seed = 1, keys = 5, nulls = 0, gapUs = 20_000 }: Gen): Table =>
  randomTrades({
    n,
    seed,
    symbols: Array.from({ length: keys }, (_, k) => `S${k}`),
    start: T0,
    gapUs,
    moveShare: 0.7,
    nulls,
    nans: nulls,
    priceTick: 1 / 8,
    wholeSizes: true,
  });

function at(threads: number, table: Table, opts: RollingOptions): Table {
  setParallelism(threads);
  try {
    return rolling(table, opts);
  } finally {
    setParallelism(undefined);
  }
}

/** Every buffer of a column's chunks, as bytes (values and validity; data past the length too). */
function columnBytes(t: Table, name: string): { nullCount: number; values: number[]; valid: boolean[] }[] {
  return t.getChild(name)!.data.map((d: Data) => {
    const values: number[] = [];
    const valid: boolean[] = [];
    for (let i = 0; i < d.length; i++) {
      valid.push(d.getValid(i));
      values.push(Number((d.values as Float64Array | BigInt64Array)[d.offset + i]));
    }
    return { nullCount: d.nullCount, values, valid };
  });
}

/**
 * The output on `threads` threads against one thread: the same schema and, column by column and
 * chunk by chunk, the same values (NaN included, compared with Object.is), validity and null
 * counts. Returns whether the parallel path ran (its output is in shared memory).
 */
function expectSameOutput(table: Table, opts: RollingOptions, threads = 2): boolean {
  const one = at(1, table, opts);
  const many = at(threads, table, opts);
  expect(many.schema.fields.map(String)).toEqual(one.schema.fields.map(String));
  expect(many.batches.map((b) => b.numRows)).toEqual(one.batches.map((b) => b.numRows));
  for (const f of one.schema.fields) {
    const a = columnBytes(one, f.name);
    const b = columnBytes(many, f.name);
    expect(b.length, f.name).toBe(a.length);
    a.forEach((chunk, c) => {
      expect(b[c].nullCount, `${f.name} null count`).toBe(chunk.nullCount);
      expect(b[c].valid, `${f.name} validity`).toEqual(chunk.valid);
      chunk.values.forEach((v, i) => {
        if (chunk.valid[i] && !Object.is(b[c].values[i], v))
          expect([f.name, i, b[c].values[i]]).toEqual([f.name, i, v]);
      });
    });
  }
  const added = many.schema.fields.filter((f) => !table.schema.fields.some((g) => g.name === f.name));
  if (one.numRows > 0 && added.length > 0) expect(isSharedVector(one.getChild(added[0].name)!)).toBe(false);
  return many.numRows > 0 && many.schema.fields.every((f) => isSharedVector(many.getChild(f.name)!));
}

const EVERY_AGG = (column: string): RollingOptions['aggs'] => [
  ...(['sum', 'mean', 'min', 'max', 'std', 'var', 'count'] as const).map((agg) => ({ agg, column })),
  { agg: 'vwap' },
  { agg: 'ewm_mean', column, min_periods: 2 },
  { agg: 'ewm_var', column },
  { agg: 'ewm_std', column, min_periods: 3 },
  { agg: 'count', as: 'rows_in_window' },
  { agg: 'mean', column, min_periods: 3, as: 'mean3' },
];

describe('rolling on the worker pool', () => {
  // Boot the 4 workers the tests use once, with time to spare on a busy machine (each loads the
  // TypeScript sources through tsx).
  beforeAll(() => {
    setRollingParallelMinRows(1);
    at(4, shareTable(trades({ n: 100, keys: 8 })), { by: 'symbol', rows: 2, aggs: [{ agg: 'count' }] });
  }, 60_000);
  beforeEach(() => setRollingParallelMinRows(1));
  afterAll(async () => {
    setRollingParallelMinRows(undefined);
    setParallelism(undefined);
    await closePool();
  });

  const shared = shareTable(trades({ n: 5000, nulls: 0.1 }));
  const windows: [string, Partial<RollingOptions>][] = [
    ...(['right', 'left', 'both', 'none'] as Closed[]).map((closed): [string, Partial<RollingOptions>] => [
      `period 100ms closed ${closed}`,
      { period: '100ms', closed },
    ]),
    ['rows 4 (min_periods 4)', { rows: 4 }],
    ['rows 6, min_periods 2', { rows: 6, min_periods: 2 }],
    ['period 1s, min_periods 0', { period: '1s', min_periods: 0 }],
  ];
  for (const [name, w] of windows)
    it(`gives the single-threaded output on 2, 3 and 4 threads, every aggregate: ${name}`, () => {
      const opts = {
        by: 'symbol',
        price: 'price',
        size: 'size',
        half_life: '50ms',
        aggs: EVERY_AGG('price'),
        ...w,
      };
      expect(expectSameOutput(shared, opts, 2)).toBe(true);
      expect(expectSameOutput(shared, opts, 3)).toBe(true);
      expect(expectSameOutput(shared, opts, 4)).toBe(true);
    });

  it('replaces a column it writes and passes the others through, in shared memory', () => {
    const opts: RollingOptions = {
      by: 'symbol',
      period: '1s',
      aggs: [{ agg: 'max', column: 'size', as: 'price' }],
    };
    expect(expectSameOutput(shared, opts)).toBe(true);
    const out = at(2, shared, opts);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'price', 'size']);
  });

  it('handles plain utf8 keys, null keys, several key columns, a key in few rows and more threads than keys', () => {
    const t = trades({ n: 3000, seed: 3, keys: 3, nulls: 0.05 });
    const n = t.numRows;
    const venue: (string | null)[] = Array.from({ length: n }, (_, i) =>
      i % 7 === 0 ? null : i % 3 ? 'X' : 'Y',
    );
    // A key with two rows: one part holds it alone.
    venue[1234] = 'RARE';
    venue[2345] = 'RARE';
    const s = shareTable(
      tableFromVectors({
        ts: t.getChild('ts')!,
        symbol: t.getChild('symbol')!,
        venue: vectorFromArray(venue, new Utf8()),
        price: t.getChild('price')!,
        size: t.getChild('size')!,
      }),
    );
    for (const by of ['venue', ['venue', 'symbol'], 'symbol'])
      for (const threads of [2, 4]) {
        const opts: RollingOptions = { by, period: '200ms', aggs: EVERY_AGG('size').slice(0, 7) };
        expect(expectSameOutput(s, opts, threads), `${by} on ${threads}`).toBe(true);
      }
  });

  it('splits tables of several record batches, slices, and millisecond timestamps (converted columns go to shared memory)', () => {
    const a = trades({ n: 700, seed: 4 });
    const b = trades({ n: 1300, seed: 5 });
    // The second batch continues in time: shift its timestamps past the first's.
    const shift = (t: Table, by: number) =>
      tableFromVectors({
        ts: timestampVector(
          Float64Array.from(t.getChild('ts')!.toArray() as BigInt64Array, (x) => Number(x) + by),
        ),
        symbol: t.getChild('symbol')!,
        price: t.getChild('price')!,
        size: t.getChild('size')!,
      });
    const two = shareTable(new Table([...a.batches, ...shift(b, 1e9).batches]));
    expect(two.batches.length).toBe(2);
    const opts: RollingOptions = { by: 'symbol', period: '300ms', aggs: EVERY_AGG('price').slice(0, 7) };
    expect(expectSameOutput(two, opts, 2)).toBe(true);
    expect(expectSameOutput(two.slice(333, 1777), opts, 3)).toBe(true);
    expect(expectSameOutput(shared.slice(17, 4321), { ...opts, rows: 3, period: undefined }, 2)).toBe(true);
    const ms = a.getChild('ts')!.toArray() as BigInt64Array;
    const msType = new TimestampMillisecond('UTC');
    const msData = makeData({
      type: msType,
      length: ms.length,
      data: BigInt64Array.from(ms, (x) => x / 1000n),
    });
    const withMs = new Table(
      new RecordBatch(
        new Schema([new Field('ts', msType), ...a.schema.fields.slice(1)]),
        makeData({
          type: new Struct([new Field('ts', msType), ...a.schema.fields.slice(1)]),
          length: ms.length,
          children: [msData, ...a.batches[0].data.children.slice(1)],
        }),
      ),
    );
    expect(expectSameOutput(shareTable(withMs), opts, 2)).toBe(true);
  });

  it('plans keys beyond the sampled ones and past the planned codes', () => {
    // The sample takes every 2nd row here: it sees the 70k keys of one row each (codes past
    // 65 536 go to a part by their code) and misses the three busy keys (which go by their code).
    const n = 140_000;
    const rnd = seededRandom(9);
    const ts = new Float64Array(n);
    const sym: string[] = [];
    for (let i = 0; i < n; i++) {
      ts[i] = T0 + i * 10;
      sym.push(i % 2 === 0 ? `k${i >> 1}` : `busy${Math.floor(rnd() * 3)}`);
    }
    const t = shareTable(
      tableFromVectors({
        ts: timestampVector(ts),
        symbol: vectorFromArray(sym, new Utf8()),
        price: float64Vector(Float64Array.from({ length: n }, () => rnd())),
      }),
    );
    const opts: RollingOptions = {
      by: 'symbol',
      period: '1ms',
      aggs: [{ agg: 'mean', column: 'price' }, { agg: 'count' }],
    };
    expect(expectSameOutput(t, opts, 2)).toBe(true);
    expect(expectSameOutput(t, opts, 3)).toBe(true);
  });

  it('stays on one thread without keys, with one key, for unshared input, small input or one thread', () => {
    const opts: RollingOptions = { by: 'symbol', period: '1s', aggs: [{ agg: 'mean', column: 'price' }] };
    expect(expectSameOutput(shared, { ...opts, by: undefined })).toBe(false);
    expect(expectSameOutput(shareTable(trades({ n: 2000, keys: 1 })), opts)).toBe(false);
    expect(expectSameOutput(trades({ n: 5000, nulls: 0.1 }), opts)).toBe(false);
    // The time column alone not shared.
    const partly = tableFromVectors({
      ts: trades({ n: 5000, nulls: 0.1 }).getChild('ts')!,
      symbol: shared.getChild('symbol')!,
      price: shared.getChild('price')!,
    });
    expect(expectSameOutput(partly, opts)).toBe(false);
    setRollingParallelMinRows(5001);
    expect(expectSameOutput(shared, opts)).toBe(false);
    setRollingParallelMinRows(5000);
    expect(expectSameOutput(shared, opts)).toBe(true);
    expect(isSharedVector(at(1, shared, opts).getChild('price_mean_1s')!)).toBe(false);
    expect(expectSameOutput(shareTable(trades({ n: 0 })), opts)).toBe(false);
  });

  it(`takes the pool by default from ${ROLLING_PARALLEL_MIN_ROWS} rows`, () => {
    setRollingParallelMinRows(undefined);
    const big = shareTable(trades({ n: ROLLING_PARALLEL_MIN_ROWS, gapUs: 100 }));
    const opts: RollingOptions = { by: 'symbol', period: '10ms', aggs: [{ agg: 'std', column: 'price' }] };
    expect(expectSameOutput(big, opts)).toBe(true);
    expect(expectSameOutput(shareTable(big.slice(1)), opts)).toBe(false);
  });

  it('rejects a bad threshold', () => {
    expect(() => setRollingParallelMinRows(0)).toThrow(RangeError);
    expect(() => setRollingParallelMinRows(1.5)).toThrow(RangeError);
  });

  it("unsorted: error names the single pass's row, whichever part holds the earliest bad row", () => {
    const n = 2000;
    const base = trades({ n, seed: 6, keys: 6 });
    const ts = Float64Array.from(base.getChild('ts')!.toArray() as BigInt64Array, Number);
    const sym = Int32Array.from(base.getChild('symbol')!.data[0].values as Int32Array);
    const names = Array.from({ length: 6 }, (_, k) => `S${k}`);
    /** Row `row` joins the key of row `from` (earlier) and goes before that key's previous row. */
    const late = (t: Float64Array, s: Int32Array, row: number, from: number) => {
      const key = s[from];
      s[row] = key;
      let prev = row - 1;
      while (s[prev] !== key) prev--;
      t[row] = t[prev] - 1;
    };
    // Rows sent back in time, given as [row, an earlier row of the key it joins].
    const cases: [number, number][][] = [
      [[1500, 1400]],
      [[10, 3]],
      [
        [1700, 1600],
        [900, 850],
        [1200, 10],
      ],
      [
        [400, 390],
        [401, 398],
      ],
    ];
    for (const bad of cases) {
      const t2 = Float64Array.from(ts);
      const s2 = Int32Array.from(sym);
      for (const [row, from] of bad) late(t2, s2, row, from);
      const table = shareTable(
        tableFromVectors({
          ts: timestampVector(t2),
          symbol: dictionaryVector(s2, names, 7),
          price: base.getChild('price')!,
          size: base.getChild('size')!,
        }),
      );
      for (const opts of [
        { by: 'symbol', period: '100ms', aggs: [{ agg: 'sum', column: 'price' }] },
        { by: 'symbol', rows: 3, aggs: [{ agg: 'min', column: 'price' }, { agg: 'count' }] },
      ] as RollingOptions[]) {
        const one = errorOf(() => at(1, table, opts));
        const first = Math.min(...bad.map(([row]) => row));
        expect(one.message).toContain(`row ${first} (`);
        for (const threads of [2, 3, 4]) {
          const many = errorOf(() => at(threads, table, opts));
          expect(many).toBeInstanceOf(RollingUnsortedError);
          expect({ code: (many as RollingUnsortedError).code, message: many.message }).toEqual({
            code: 'POLAROID_ROLLING_UNSORTED',
            message: one.message,
          });
        }
        expect(expectSameOutput(table, { ...opts, unsorted: 'skip' }, 2)).toBe(true);
        expect(expectSameOutput(table, { ...opts, unsorted: 'skip' }, 3)).toBe(true);
      }
    }
  });

  it('gives the single-threaded output for any data, options and thread count (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 0.2),
        fc.constantFrom<Partial<RollingOptions>>(
          { period: '50ms', closed: 'right' },
          { period: '50ms', closed: 'left', min_periods: 2 },
          { period: '80ms', closed: 'both' },
          { period: '30ms', closed: 'none', min_periods: 0 },
          { rows: 3 },
          { rows: 5, min_periods: 1 },
        ),
        fc.integer({ min: 2, max: 4 }),
        (n, seed, keys, nulls, w, threads) => {
          const t = shareTable(trades({ n, seed, keys, nulls }));
          const opts = {
            by: 'symbol',
            price: 'price',
            size: 'size',
            half_life: '20ms',
            aggs: EVERY_AGG('price'),
            ...w,
          };
          expectSameOutput(t, opts, threads);
        },
      ),
      { numRuns: 40 },
    );
  });
});
