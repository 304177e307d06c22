import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AsofKernelOptions, AsofUnsortedError, asofJoinIndices } from './asof.ts';
import { AsofHistory, droppable, historyMatch, matchIsFinal } from './asof-state.ts';

const f64 = (xs: number[]) => Float64Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);
const join = (l: number[], r: number[], o: AsofKernelOptions = {}) =>
  Array.from(asofJoinIndices(f64(l), f64(r), o));

describe('asofJoinIndices: strategies and exact matches (hand-computed)', () => {
  const right = [1, 3, 3, 5, 8];
  const left = [0, 1, 2, 3, 4, 5, 9];
  it('backward takes the last right row <= left, the last of equal values', () => {
    expect(join(left, right)).toEqual([-1, 0, 0, 2, 2, 3, 4]);
    expect(join(left, right, { allowExactMatches: false })).toEqual([-1, -1, 0, 0, 2, 2, 4]);
  });
  it('forward takes the first right row >= left, the first of equal values', () => {
    expect(join(left, right, { strategy: 'forward' })).toEqual([0, 0, 1, 1, 3, 3, -1]);
    expect(join(left, right, { strategy: 'forward', allowExactMatches: false })).toEqual([
      0, 1, 1, 3, 3, 4, -1,
    ]);
  });
  it('nearest breaks ties towards the later value and takes the last of equal values (Polars)', () => {
    expect(join(left, right, { strategy: 'nearest' })).toEqual([0, 0, 2, 2, 3, 3, 4]);
    expect(join(left, right, { strategy: 'nearest', allowExactMatches: false })).toEqual([
      0, 2, 2, 3, 3, 2, 4,
    ]);
  });
});

describe('asofJoinIndices: tolerance is inclusive for every strategy', () => {
  const right = [10, 20];
  const left = [12, 15, 18, 25, 30, 31];
  it('matches exactly at the tolerance and not beyond', () => {
    expect(join(left, right, { tolerance: 5 })).toEqual([0, 0, -1, 1, -1, -1]);
    expect(join(left, right, { strategy: 'forward', tolerance: 5 })).toEqual([-1, 1, 1, -1, -1, -1]);
    expect(join(left, right, { strategy: 'nearest', tolerance: 5 })).toEqual([0, 1, 1, 1, -1, -1]);
  });
  it('tolerance 0 keeps only exact matches, and none without exact matches', () => {
    expect(join([10, 11], [10], { tolerance: 0 })).toEqual([0, -1]);
    expect(join([10, 11], [10], { tolerance: 0, allowExactMatches: false })).toEqual([-1, -1]);
    expect(join([10], [10], { strategy: 'nearest', tolerance: 0 })).toEqual([0]);
  });
  it('rejects a negative tolerance', () => {
    expect(() => join([1], [1], { tolerance: -1 })).toThrow(/tolerance must be a number >= 0/);
  });
});

describe('asofJoinIndices: keys, NaN and empty sides', () => {
  it('matches within each key; a key on one side only finds nothing', () => {
    const opts = { leftKeys: i32([0, 1, 3, 2]), rightKeys: i32([0, 1, 0, 1, 2, 0]), nKeys: 4 };
    expect(join([2, 3, 4, 7], [1, 2, 3, 4, 5, 6], opts)).toEqual([0, 1, -1, 4]);
    expect(join([2, 3, 4, 7], [1, 2, 3, 4, 5, 6], { ...opts, strategy: 'forward' })).toEqual([2, 3, -1, -1]);
  });
  it('gives the same matches on input sorted by (key, on) as on time-ordered input', () => {
    const opts = { leftKeys: i32([0, 1, 2, 3]), rightKeys: i32([0, 0, 0, 1, 1, 2]), nKeys: 4 };
    expect(join([2, 3, 7, 4], [1, 3, 6, 2, 4, 5], opts)).toEqual([0, 3, 5, -1]);
  });
  it('a negative (null) key never matches', () => {
    expect(join([5, 5], [1, 2], { leftKeys: i32([-1, 0]), rightKeys: i32([0, -1]), nKeys: 1 })).toEqual([
      -1, 0,
    ]);
  });
  it('NaN on the left gets no match; NaN on the right is never matched nor breaks sortedness', () => {
    expect(join([Number.NaN, 2, 3], [1, Number.NaN, 3])).toEqual([-1, 0, 2]);
    expect(join([Number.NaN, 2, 3], [1, Number.NaN, 3], { strategy: 'forward' })).toEqual([-1, 2, 2]);
    expect(
      join([2, 3], [Number.NaN, 3, 1], { leftKeys: i32([0, 0]), rightKeys: i32([0, 1, 0]), nKeys: 2 }),
    ).toEqual([2, 2]);
  });
  it('handles empty sides', () => {
    expect(join([], [1, 2])).toEqual([]);
    expect(join([1, 2], [])).toEqual([-1, -1]);
    expect(join([1, 2], [], { strategy: 'nearest' })).toEqual([-1, -1]);
  });
});

describe('asofJoinIndices: unsorted input', () => {
  const catchErr = (f: () => unknown): AsofUnsortedError => {
    try {
      f();
    } catch (e) {
      return e as AsofUnsortedError;
    }
    throw new Error('expected an error');
  };
  it('names the side, the rows and the key', () => {
    const r = catchErr(() => join([1], [1, 3, 2]));
    expect(r).toBeInstanceOf(AsofUnsortedError);
    expect([r.code, r.retriable, r.side, r.row, r.previousRow, r.key]).toEqual([
      'ASOF_UNSORTED',
      false,
      'right',
      2,
      1,
      -1,
    ]);
    const l = catchErr(() => join([2, 1], [1], { strategy: 'forward' }));
    expect([l.side, l.row, l.previousRow]).toEqual(['left', 1, 0]);
    const k = catchErr(() => join([1], [3, 1], { leftKeys: i32([0]), rightKeys: i32([0, 0]), nKeys: 1 }));
    expect([k.side, k.row, k.previousRow, k.key]).toEqual(['right', 1, 0, 0]);
    const kl = catchErr(() =>
      join([5, 2, 1], [1], { leftKeys: i32([1, 0, 1]), rightKeys: i32([0]), nKeys: 2, strategy: 'nearest' }),
    );
    expect([kl.side, kl.row, kl.previousRow, kl.key]).toEqual(['left', 2, 0, 1]);
  });
  it('checks int64 input too', () => {
    const r = catchErr(() => asofJoinIndices(BigInt64Array.of(1n), BigInt64Array.of(2n ** 40n, 5n)));
    expect([r.side, r.row, r.previousRow]).toEqual(['right', 1, 0]);
  });
  it('accepts input sorted within each key only', () => {
    expect(join([1, 6], [1, 5, 2], { leftKeys: i32([0, 1]), rightKeys: i32([0, 1, 0]), nKeys: 2 })).toEqual([
      0, 1,
    ]);
  });
});

/** Reference: scan every right row (quadratic), with the documented rules. */
function reference(l: number[], lk: number[], r: number[], rk: number[], o: AsofKernelOptions): number[] {
  const tol = o.tolerance ?? Number.POSITIVE_INFINITY;
  const eq = o.allowExactMatches ?? true;
  return l.map((x, i) => {
    let best = -1;
    for (let j = 0; j < r.length; j++) {
      if (rk[j] !== lk[i] || (!eq && r[j] === x) || Math.abs(x - r[j]) > tol) continue;
      const d = Math.abs(x - r[j]);
      if (o.strategy === 'backward' && r[j] <= x && (best < 0 || r[j] >= r[best])) best = j;
      if (o.strategy === 'forward' && r[j] >= x && (best < 0 || r[j] < r[best])) best = j;
      if (o.strategy === 'nearest') {
        const bd = best < 0 ? Number.POSITIVE_INFINITY : Math.abs(x - r[best]);
        if (d < bd || (d === bd && r[j] >= r[best])) best = j;
      }
    }
    return best;
  });
}

const side = fc
  .array(fc.record({ dt: fc.integer({ min: 0, max: 3 }), k: fc.integer({ min: 0, max: 2 }) }), {
    maxLength: 25,
  })
  .map((rows) => {
    let t = 0;
    return rows.map((x) => {
      t += x.dt;
      return { t, k: x.k };
    });
  });

describe('asofJoinIndices: properties', () => {
  it('matches a quadratic reference, on time-ordered and on key-ordered input', () => {
    fc.assert(
      fc.property(
        side,
        side,
        fc.constantFrom('backward', 'forward', 'nearest'),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
        (left, right, strategy, allowExactMatches, tolerance) => {
          const o = { strategy, allowExactMatches, tolerance } as AsofKernelOptions;
          const run = (l: typeof left, r: typeof right) =>
            join(
              l.map((x) => x.t),
              r.map((x) => x.t),
              { ...o, leftKeys: i32(l.map((x) => x.k)), rightKeys: i32(r.map((x) => x.k)), nKeys: 3 },
            );
          const expected = reference(
            left.map((x) => x.t),
            left.map((x) => x.k),
            right.map((x) => x.t),
            right.map((x) => x.k),
            o,
          );
          expect(run(left, right)).toEqual(expected);
          const i64 = (xs: typeof left) =>
            BigInt64Array.from(xs, (x) => BigInt(x.t) + 1_700_000_000_000_000n);
          const withInt64 = asofJoinIndices(i64(left), i64(right), {
            ...o,
            leftKeys: i32(left.map((x) => x.k)),
            rightKeys: i32(right.map((x) => x.k)),
            nKeys: 3,
          });
          expect(Array.from(withInt64)).toEqual(expected);
          const byKey = <T extends { k: number }>(xs: T[]) =>
            xs.map((x, i) => ({ ...x, i })).sort((a, b) => a.k - b.k || a.i - b.i);
          const l2 = byKey(left);
          const r2 = byKey(right);
          const got = run(l2, r2);
          const mapped = new Array(left.length);
          l2.forEach((x, p) => {
            mapped[x.i] = got[p] < 0 ? -1 : r2[got[p]].i;
          });
          expect(mapped).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('AsofHistory (streaming state)', () => {
  const hist = (ts: number[]) => {
    const h = new AsofHistory(2);
    ts.forEach((t, i) => {
      h.insert(t, 0, i);
    });
    return h;
  };
  it('keeps rows sorted, equal values in arrival order, across growth and compaction', () => {
    const h = hist([1, 5, 3, 3, 9]);
    expect(Array.from(h.ts.subarray(h.start, h.end))).toEqual([1, 3, 3, 5, 9]);
    expect(Array.from(h.row.subarray(h.start, h.end))).toEqual([0, 2, 3, 1, 4]);
    const dropped: number[] = [];
    h.dropFront(2, (s) => dropped.push(s));
    expect(dropped).toEqual([0, 0]);
    expect(h.size).toBe(3);
    for (let i = 0; i < 20; i++) h.insert(10 + i, 1, 100 + i);
    expect(h.size).toBe(23);
    expect(h.ts[h.start]).toBe(3);
  });
  it('matches like the batch kernel', () => {
    const h = hist([1, 3, 3, 5, 8]);
    const at = (
      l: number,
      s: 'backward' | 'forward' | 'nearest',
      eq = true,
      tol = Number.POSITIVE_INFINITY,
    ) => {
      const p = historyMatch(h, l, s, eq, tol);
      return p < 0 ? -1 : h.row[p];
    };
    expect([0, 1, 2, 3, 4, 5, 9].map((l) => at(l, 'backward'))).toEqual([-1, 0, 0, 2, 2, 3, 4]);
    expect([9, 5, 4, 3, 2, 1, 0].map((l) => at(l, 'forward', false))).toEqual([-1, 4, 3, 3, 1, 1, 0]);
    expect([0, 1, 2, 3, 4, 5, 9].map((l) => at(l, 'nearest', false))).toEqual([0, 2, 2, 3, 3, 2, 4]);
    expect(at(12, 'backward', true, 4)).toBe(4);
    expect(at(12.5, 'backward', true, 4)).toBe(-1);
  });
  it('says when a match is final given the right watermark', () => {
    const h = hist([10, 20]);
    const inf = Number.POSITIVE_INFINITY;
    expect(matchIsFinal(h, 0, 15, 'backward', true, inf, 15)).toBe(false);
    expect(matchIsFinal(h, 0, 15, 'backward', true, inf, 15.5)).toBe(true);
    expect(matchIsFinal(h, 0, 15, 'backward', false, inf, 15)).toBe(true);
    expect(matchIsFinal(h, h.start + 1, 15, 'forward', true, inf, 19)).toBe(false);
    expect(matchIsFinal(h, h.start + 1, 15, 'forward', true, inf, 20)).toBe(true);
    expect(matchIsFinal(h, -1, 25, 'forward', true, 3, 28)).toBe(false);
    expect(matchIsFinal(h, -1, 25, 'forward', true, 3, 28.5)).toBe(true);
    expect(matchIsFinal(h, -1, 25, 'forward', true, inf, 1e9)).toBe(false);
    expect(matchIsFinal(h, -1, 25, 'forward', true, inf, inf)).toBe(true);
    expect(matchIsFinal(h, h.start + 1, 22, 'nearest', true, inf, 24)).toBe(false);
    expect(matchIsFinal(h, h.start + 1, 22, 'nearest', true, inf, 24.5)).toBe(true);
  });
  it('drops rows that no left row at or after the bound can match', () => {
    expect(droppable(hist([1, 2, 4, 6]), 4, 'backward', true, Number.POSITIVE_INFINITY)).toBe(2);
    expect(droppable(hist([1, 2, 4, 6]), 4, 'backward', false, Number.POSITIVE_INFINITY)).toBe(1);
    expect(droppable(hist([1, 2, 4, 6]), 4, 'forward', true, Number.POSITIVE_INFINITY)).toBe(2);
    expect(droppable(hist([1, 2, 4, 6]), 4, 'forward', false, Number.POSITIVE_INFINITY)).toBe(3);
    expect(droppable(hist([1, 2, 4, 6]), 4, 'nearest', true, Number.POSITIVE_INFINITY)).toBe(2);
    expect(droppable(hist([1, 2, 4, 6]), 7, 'backward', true, 0.5)).toBe(4);
  });
});
