import {
  Float32,
  Int8,
  Int16,
  Int32,
  Int64,
  type Table,
  Uint8,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../pipeline/retry.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { type AsofJoinOptions, AsofUnsortedError, asofJoin, setAsofParallelMinRows } from './asof.ts';
import { rowsOf } from './asof-testing.ts';
import { kernelModes, useKernels } from './kernels/native-testing.ts';
import { closePool, setParallelism } from './parallel/pool.ts';
import { isSharedVector, shareTable } from './parallel/shared.ts';

const T0 = 1_767_225_600_000_000;
const SYMS = ['AAA', 'BBB', 'CCC', 'DDD'];

beforeAll(() => setAsofParallelMinRows(64));
afterAll(async () => {
  setAsofParallelMinRows(undefined);
  setParallelism(undefined);
  await closePool();
});

interface Gen {
  n: number;
  seed: number;
  /** Symbols used on this side (a prefix of SYMS). */
  nSyms: number;
  /** Mean step between timestamps, µs. */
  step: number;
}

function times(g: Gen): { ts: number[]; sym: number[]; rnd: () => number } {
  const rnd = seededRandom(g.seed);
  const ts: number[] = [];
  const sym: number[] = [];
  let t = T0;
  for (let i = 0; i < g.n; i++) {
    t += Math.floor(rnd() * 2 * g.step);
    ts.push(t);
    sym.push(Math.floor(rnd() * g.nSyms));
  }
  return { ts, sym, rnd };
}

function trades(g: Gen, onAs: 'timestamp' | 'float64' = 'timestamp'): Table {
  const { ts, sym, rnd } = times(g);
  return tableFromVectors({
    ts: onAs === 'timestamp' ? timestampVector(Float64Array.from(ts)) : float64Vector(Float64Array.from(ts)),
    symbol: dictionaryVector(Int32Array.from(sym), SYMS),
    price: float64Vector(Float64Array.from(ts, () => Math.floor(rnd() * 1000) / 10)),
  });
}

/** Quotes with a column of every kind: fused by width, or gathered by index (strings, nulls). */
function quotes(g: Gen, onAs: 'timestamp' | 'float64' = 'timestamp'): Table {
  const { ts, sym, rnd } = times(g);
  const ints = ts.map(() => Math.floor(rnd() * 200) - 100);
  const cols: Record<string, Vector> = {
    ts: onAs === 'timestamp' ? timestampVector(Float64Array.from(ts)) : float64Vector(Float64Array.from(ts)),
    symbol: dictionaryVector(Int32Array.from(sym), SYMS),
    bid: float64Vector(Float64Array.from(ints, (x) => 100 + x / 8)),
    seq: vectorFromArray(
      ints.map((x, i) => BigInt(x) * 2n ** 40n + BigInt(i)),
      new Int64(),
    ),
    n32: vectorFromArray(ints, new Int32()),
    f32: vectorFromArray(
      ints.map((x) => x / 4),
      new Float32(),
    ),
    n16: vectorFromArray(ints, new Int16()),
    n8: vectorFromArray(ints, new Int8()),
    u8: vectorFromArray(
      ints.map((x) => x + 100),
      new Uint8(),
    ),
    venue: vectorFromArray(
      ints.map((x) => `v${x & 3}`),
      new Utf8(),
    ),
    ask: float64Vector(
      Float64Array.from(ints, (x) => 101 + x / 8),
      Uint8Array.from(ints, (x) => (x % 5 === 0 ? 0 : 1)),
    ),
  };
  return tableFromVectors(cols);
}

function join(left: Table, right: Table, opts: AsofJoinOptions, threads: number): Table {
  setParallelism(threads);
  try {
    return asofJoin(left, right, opts);
  } finally {
    setParallelism(undefined);
  }
}

const nulls = (t: Table) => t.schema.fields.map((f) => t.getChild(f.name)!.nullCount);
const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe.each(kernelModes())('asofJoin split over threads (%s kernels)', (mode) => {
  beforeAll(() => useKernels(mode));
  afterAll(() => useKernels('native'));
  const left = shareTable(trades({ n: 1000, seed: 3, nSyms: 4, step: 400 }));
  const right = shareTable(quotes({ n: 500, seed: 5, nSyms: 3, step: 800 }));
  const cases: AsofJoinOptions[] = [
    { on: 'ts', by: 'symbol', tolerance: '1ms' },
    { on: 'ts', by: 'symbol' },
    { on: 'ts', by: 'symbol', tolerance: 0 },
    { on: 'ts', by: 'symbol', tolerance: '2ms', allow_exact_matches: false },
    { on: 'ts', tolerance: 300 },
    { on: 'ts' },
  ];
  for (const opts of cases)
    it(`equals the single-threaded result: ${JSON.stringify(opts)}`, () => {
      const one = join(left, right, opts, 1);
      for (const threads of [2, 3]) {
        const par = join(left, right, opts, threads);
        expect(par.schema).toEqual(one.schema);
        expect(nulls(par)).toEqual(nulls(one));
        expect(rowsOf(par)).toEqual(rowsOf(one));
        // The worker pool writes the fused columns into shared memory; native threads write any
        // memory, and their outputs are plain (collected as their size demands).
        expect(isSharedVector(par.getChild('bid')!)).toBe(mode === 'typescript');
        expect(isSharedVector(one.getChild('bid')!)).toBe(false);
      }
    });

  it('runs on this thread below the threshold; the pool only takes shared input', () => {
    setAsofParallelMinRows(5000);
    try {
      expect(isSharedVector(join(left, right, cases[0], 2).getChild('bid')!)).toBe(false);
    } finally {
      setAsofParallelMinRows(64);
    }
    const plain = quotes({ n: 500, seed: 5, nSyms: 3, step: 800 });
    const out = join(left, plain, cases[0], 2);
    expect(isSharedVector(out.getChild('bid')!)).toBe(false);
    expect(rowsOf(out)).toEqual(rowsOf(join(left, right, cases[0], 2)));
  });

  it('rejects a bad threshold', () => {
    expect(() => setAsofParallelMinRows(0)).toThrow(RangeError);
  });
});

describe.each(kernelModes())(
  'asofJoin split over threads: input out of global order (%s kernels)',
  (mode) => {
    beforeAll(() => useKernels(mode));
    afterAll(() => useKernels('native'));
    const sortedPerKeyOnly = (t: Table): Table => {
      // Rows of symbol 0 shifted 1 s later: each group stays sorted, the whole is not.
      const ts = Array.from(t.getChild('ts')!.data[0].values as BigInt64Array, Number);
      const sym = Array.from(t.getChild('symbol')!.data[0].values as Int32Array);
      const shifted = ts.map((x, i) => (sym[i] === 0 ? x + 1_000_000 : x));
      const cols: Record<string, Vector> = {};
      for (const f of t.schema.fields) cols[f.name] = t.getChild(f.name)!;
      cols.ts = timestampVector(Float64Array.from(shifted));
      return shareTable(tableFromVectors(cols));
    };
    const left = shareTable(trades({ n: 600, seed: 8, nSyms: 3, step: 500 }));
    const right = shareTable(quotes({ n: 300, seed: 9, nSyms: 3, step: 1000 }));
    const opts: AsofJoinOptions = { on: 'ts', by: 'symbol', tolerance: '2s' };

    it('sorted per key only: the general path gives the same result on any thread count', () => {
      for (const [l, r] of [
        [sortedPerKeyOnly(left), right],
        [left, sortedPerKeyOnly(right)],
      ]) {
        const one = join(l, r, opts, 1);
        expect(rowsOf(join(l, r, opts, 2))).toEqual(rowsOf(one));
        expect(one.getChild('bid')!.nullCount).toBeLessThan(l.numRows);
      }
    });

    it('unsorted within a group: the same error naming the side, column and group', () => {
      const swap = (t: Table, a: number, b: number) => {
        const ts = Array.from(t.getChild('ts')!.data[0].values as BigInt64Array, Number);
        [ts[a], ts[b]] = [ts[b], ts[a]];
        const cols: Record<string, Vector> = {};
        for (const f of t.schema.fields) cols[f.name] = t.getChild(f.name)!;
        cols.ts = timestampVector(Float64Array.from(ts));
        return shareTable(tableFromVectors(cols));
      };
      for (const [l, r, side] of [
        [swap(left, 100, 500), right, 'left'],
        [left, swap(right, 20, 250), 'right'],
      ] as const) {
        const one = caught(() => join(l, r, opts, 1)) as AsofUnsortedError;
        const two = caught(() => join(l, r, opts, 2)) as AsofUnsortedError;
        expect(one).toBeInstanceOf(AsofUnsortedError);
        expect(two).toBeInstanceOf(AsofUnsortedError);
        expect(two.message).toBe(one.message);
        expect(one.message).toMatch(
          new RegExp(`^asof_join: ${side} column "ts" is not sorted within by group symbol=`),
        );
      }
    });
  },
);

describe.each(kernelModes())(
  'asofJoin: fused and split paths agree with the index path (%s kernels)',
  (mode) => {
    beforeAll(() => useKernels(mode));
    afterAll(() => useKernels('native'));
    it('on random time-ordered input, timestamps (fused) and float64 on values (index path) match', () => {
      fc.assert(
        fc.property(
          fc.record({
            nLeft: fc.integer({ min: 0, max: 400 }),
            nRight: fc.integer({ min: 0, max: 200 }),
            leftSyms: fc.integer({ min: 1, max: 4 }),
            rightSyms: fc.integer({ min: 1, max: 4 }),
            step: fc.integer({ min: 1, max: 2000 }),
            seed: fc.integer(),
            tolerance: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
            allow: fc.boolean(),
            keyed: fc.boolean(),
            threads: fc.integer({ min: 1, max: 3 }),
          }),
          (o) => {
            const opts: AsofJoinOptions = {
              on: 'ts',
              ...(o.keyed ? { by: 'symbol' } : {}),
              tolerance: o.tolerance,
              allow_exact_matches: o.allow,
            };
            const gl = { n: o.nLeft, seed: o.seed, nSyms: o.leftSyms, step: o.step };
            const gr = { n: o.nRight, seed: o.seed + 1, nSyms: o.rightSyms, step: 2 * o.step };
            const fused = join(shareTable(trades(gl)), shareTable(quotes(gr)), opts, o.threads);
            const general = join(trades(gl, 'float64'), quotes(gr, 'float64'), opts, 1);
            const right = (t: Table) => rowsOf(t).map(({ ts: _ts, symbol: _s, price: _p, ...rest }) => rest);
            expect(right(fused)).toEqual(right(general));
            expect(nulls(fused).slice(3)).toEqual(nulls(general).slice(3));
          },
        ),
        { numRuns: 60 },
      );
    });
  },
);
