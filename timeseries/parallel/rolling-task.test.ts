import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../pipeline/retry.ts';
import { type KernelAgg, RollingKernel, type RollingKernelOptions } from '../kernels/rolling.ts';
import { mergeRollingParts, type RollingPartResult, rollingPart } from './rolling-task.ts';

const AGGS: KernelAgg[] = [
  { agg: 'sum', input: 0, minPeriods: 1 },
  { agg: 'mean', input: 0, minPeriods: 2 },
  { agg: 'min', input: 0, minPeriods: 1 },
  { agg: 'max', input: 0, minPeriods: 1 },
  { agg: 'std', input: 0, minPeriods: 1 },
  { agg: 'var', input: 0, minPeriods: 3 },
  { agg: 'count', input: 0, minPeriods: 0 },
  { agg: 'count', input: -1, minPeriods: 2 },
  { agg: 'vwap', input: 0, size: 1, minPeriods: 1 },
  { agg: 'ewm_mean', input: 0, minPeriods: 1 },
  { agg: 'ewm_var', input: 0, minPeriods: 2 },
  { agg: 'ewm_std', input: 1, minPeriods: 1 },
];

interface Input {
  ts: Float64Array;
  keys: Int32Array;
  cols: Float64Array[];
}

/** Rows of `keyCount` keys, time-ordered but for a share of rows sent back in time, missing values. */
function input(n: number, keyCount: number, seed: number, late: number): Input {
  const rnd = seededRandom(seed);
  const ts = new Float64Array(n);
  const keys = new Int32Array(n);
  const price = new Float64Array(n);
  const size = new Float64Array(n);
  let t = 1_700_000_000_000_000;
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.7) t += Math.floor(rnd() * 40_000);
    ts[i] = rnd() < late ? t - 100_000 : t;
    keys[i] = Math.floor(rnd() * keyCount);
    price[i] = rnd() < 0.1 ? Number.NaN : 100 + Math.floor(rnd() * 1000) / 8;
    size[i] = rnd() < 0.1 ? Number.NaN : 1 + Math.floor(rnd() * 10);
  }
  return { ts, keys, cols: [price, size] };
}

function onePass(opts: RollingKernelOptions, d: Input, ts: Float64Array | BigInt64Array) {
  const kernel = new RollingKernel(opts);
  const out = opts.aggs.map(() => new Float64Array(d.ts.length));
  const nulls = new Float64Array(3 * out.length);
  const unsortedRow = kernel.process(ts, d.keys, d.cols, out, nulls);
  return { out, result: { unsortedRow, skipped: kernel.skipped, nulls } };
}

function inParts(
  opts: RollingKernelOptions,
  d: Input,
  ts: Float64Array | BigInt64Array,
  partOf: Int32Array,
  parts: number,
) {
  const out = opts.aggs.map(() => new Float64Array(d.ts.length).fill(-0.5));
  const results: RollingPartResult[] = [];
  for (let part = 0; part < parts; part++)
    results.push(rollingPart({ opts, ts, keys: d.keys, cols: d.cols, out, split: { partOf, parts }, part }));
  return { out, result: mergeRollingParts(results, out.length) };
}

const sameValues = (a: Float64Array, b: Float64Array, rows: number): boolean => {
  for (let i = 0; i < rows; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};

describe('rolling task: parts of the keys give the single pass', () => {
  it('the same outputs, null counts, skipped rows and first unsorted row for any split (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom(0, 0.01),
        fc.constantFrom<RollingKernelOptions['window']>(
          { kind: 'time', periodUs: 100_000, closed: 'right' },
          { kind: 'time', periodUs: 100_000, closed: 'left' },
          { kind: 'time', periodUs: 60_000, closed: 'both' },
          { kind: 'time', periodUs: 60_000, closed: 'none' },
          { kind: 'rows', rows: 3 },
        ),
        fc.constantFrom<'error' | 'skip'>('error', 'skip'),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 7 }),
        fc.boolean(),
        (n, keyCount, seed, late, window, unsorted, parts, plan, int64) => {
          const d = input(n, keyCount, seed, late);
          const opts: RollingKernelOptions = { window, inputs: 2, aggs: AGGS, halfLifeUs: 50_000, unsorted };
          const ts = int64 ? BigInt64Array.from(d.ts, (t) => BigInt(t)) : d.ts;
          // Keys past the plan's end go by their code.
          const partOf = Int32Array.from(plan, (p) => p % parts);
          const one = onePass(opts, d, ts);
          const many = inParts(opts, d, ts, partOf, parts);
          expect(many.result.unsortedRow).toBe(one.result.unsortedRow);
          // On an unsorted row (unsorted: error) the operator throws: rows before it are written.
          const rows = one.result.unsortedRow >= 0 ? one.result.unsortedRow : n;
          one.out.forEach((o, a) => {
            expect(sameValues(many.out[a], o, rows), `aggregate ${a}`).toBe(true);
          });
          if (one.result.unsortedRow < 0) {
            expect(many.result.skipped).toBe(one.result.skipped);
            expect(Array.from(many.result.nulls)).toEqual(Array.from(one.result.nulls));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips the rows of other parts: they are neither written nor counted', () => {
    const d = input(200, 4, 3, 0);
    const opts: RollingKernelOptions = {
      window: { kind: 'rows', rows: 2 },
      inputs: 2,
      aggs: AGGS,
      halfLifeUs: 1,
    };
    const out = AGGS.map(() => new Float64Array(200).fill(-0.5));
    const r = rollingPart({
      opts,
      ts: d.ts,
      keys: d.keys,
      cols: d.cols,
      out,
      split: { partOf: Int32Array.from([1, 0]), parts: 2 },
      part: 0,
    });
    // Part 0: key 1 (planned) and key 2 (2 % 2, past the plan).
    for (let i = 0; i < 200; i++) {
      const mine = d.keys[i] === 1 || d.keys[i] === 2;
      if (!mine) expect(out[0][i]).toBe(-0.5);
    }
    const mineRows = Array.from(d.keys).filter((k) => k === 1 || k === 2).length;
    // count(rows) with min_periods 2 is null on the first row of each of the part's keys only.
    expect(r.nulls[3 * 7]).toBe(Math.min(2, mineRows));
  });

  it('merges no parts into no nulls and no unsorted row', () => {
    expect(mergeRollingParts([], 2)).toEqual({
      unsortedRow: -1,
      skipped: 0,
      nulls: Float64Array.from([0, -1, -1, 0, -1, -1]),
    });
  });
});
