import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../pipeline/retry.ts';
import { int64Words, timeSteps } from '../asof-testing.ts';
import { type AsofKernelOptions, asofJoinIndices } from './asof.ts';
import {
  asofBackwardFusedJs,
  type FusedPart,
  fusedColumns,
  nativePart,
  planBackwardParts,
} from './asof-fused.ts';
import { nativeKernels } from './native.ts';
import { kernelModes } from './native-testing.ts';

type Kernel = (p: FusedPart) => number;

/** The kernel of each mode; the native one also run through its `ranges` (threads), one range. */
const KERNELS: Record<string, Kernel> = {
  typescript: asofBackwardFusedJs,
  native: (p) => nativeKernels()!.asofBackwardFused(nativePart(p)),
  'native-ranges': (p) =>
    nativeKernels()!.asofBackwardFused({
      ...nativePart(p),
      ranges: [{ from: p.from, to: p.to, jFrom: p.jFrom, jTo: p.jTo }],
    }),
};
const modes = kernelModes().flatMap((m) => (m === 'native' ? ['native', 'native-ranges'] : [m]));

const words = int64Words;

interface Case {
  left: number[];
  right: number[];
  leftKeys?: number[];
  rightKeys?: number[];
  nKeys?: number;
  tolerance?: number;
  allowExactMatches?: boolean;
}

/** A part over the whole input: one float64 value column (the right row number + 0.5) and an index. */
function part(c: Case): FusedPart & { bid: Float64Array } {
  const n = c.left.length;
  const columns = fusedColumns();
  const bid = new Float64Array(n);
  columns.f64.push(Float64Array.from(c.right, (_, j) => j + 0.5));
  columns.f64Out.push(bid);
  return {
    left: words(c.left),
    right: words(c.right),
    leftKeys: c.leftKeys ? Int32Array.from(c.leftKeys) : undefined,
    rightKeys: c.rightKeys ? Int32Array.from(c.rightKeys) : undefined,
    nKeys: c.leftKeys ? (c.nKeys ?? 0) : 1,
    tolerance: c.tolerance ?? Number.POSITIVE_INFINITY,
    allowExactMatches: c.allowExactMatches ?? true,
    columns,
    validity: new Uint8Array((n + 7) >> 3),
    index: new Int32Array(n),
    from: 0,
    to: n,
    jFrom: 0,
    jTo: c.right.length,
    bid,
  };
}

const valid = (v: Uint8Array, n: number) => Array.from({ length: n }, (_, i) => (v[i >> 3] >> (i & 7)) & 1);

let asofBackwardFused: Kernel = asofBackwardFusedJs;

/** Matched right rows by the fused kernel (-1: none), checking that values and validity agree. */
function fused(c: Case): number[] | 'unsorted' {
  const p = part(c);
  const nulls = asofBackwardFused(p);
  if (nulls < 0) return 'unsorted';
  const index = Array.from(p.index!);
  expect(valid(p.validity, c.left.length)).toEqual(index.map((m) => (m >= 0 ? 1 : 0)));
  expect(Array.from(p.bid)).toEqual(index.map((m) => (m >= 0 ? m + 0.5 : 0)));
  expect(nulls).toBe(index.filter((m) => m < 0).length);
  return index;
}

function reference(c: Case): number[] {
  const opts: AsofKernelOptions = {
    tolerance: c.tolerance,
    allowExactMatches: c.allowExactMatches,
    ...(c.leftKeys
      ? { leftKeys: Int32Array.from(c.leftKeys), rightKeys: Int32Array.from(c.rightKeys!), nKeys: c.nKeys }
      : {}),
  };
  return Array.from(asofJoinIndices(Float64Array.from(c.left), Float64Array.from(c.right), opts));
}

describe.each(modes)('asofBackwardFused, %s kernel', (mode) => {
  beforeAll(() => {
    asofBackwardFused = KERNELS[mode];
  });
  afterAll(() => {
    asofBackwardFused = asofBackwardFusedJs;
  });
  describe('hand-computed', handComputed);
  describe('planBackwardParts: a split merge equals the whole', splits);
});

function handComputed(): void {
  const right = [1, 3, 3, 5, 8];
  const left = [0, 1, 2, 3, 4, 5, 9];
  it('takes the last right row <= left, the last of equal values; strict without exact matches', () => {
    expect(fused({ left, right })).toEqual([-1, 0, 0, 2, 2, 3, 4]);
    expect(fused({ left, right, allowExactMatches: false })).toEqual([-1, -1, 0, 0, 2, 2, 4]);
  });
  it('tolerance is inclusive; 0 keeps exact matches only', () => {
    expect(fused({ left: [12, 15, 18, 25, 30, 31], right: [10, 20], tolerance: 5 })).toEqual([
      0, 0, -1, 1, -1, -1,
    ]);
    expect(fused({ left: [10, 11], right: [10], tolerance: 0 })).toEqual([0, -1]);
    expect(fused({ left: [10, 11], right: [10], tolerance: 0, allowExactMatches: false })).toEqual([-1, -1]);
  });
  it('matches within each key; keys on one side only and null keys never match', () => {
    const c = {
      left: [2, 3, 4, 7, 8],
      right: [1, 2, 3, 4, 5, 6],
      leftKeys: [0, 1, 3, 2, -1],
      rightKeys: [0, 1, 0, 1, 2, -1],
      nKeys: 4,
    };
    expect(fused(c)).toEqual([0, 1, -1, 4, -1]);
    expect(fused(c)).toEqual(reference(c));
  });
  it('handles empty sides', () => {
    expect(fused({ left: [1, 2], right: [] })).toEqual([-1, -1]);
    expect(fused({ left: [], right: [1] })).toEqual([]);
  });
  it('gives up (-1) on input out of global order, on either side', () => {
    expect(fused({ left: [1, 3, 2], right: [0] })).toBe('unsorted');
    expect(fused({ left: [5], right: [1, 3, 2] })).toBe('unsorted');
    // The right rows after the last left row are checked too.
    expect(fused({ left: [0], right: [1, 3, 2] })).toBe('unsorted');
    // Sorted per key only: the general path's job.
    expect(fused({ left: [3, 1], right: [5, 1], leftKeys: [0, 1], rightKeys: [0, 1], nKeys: 2 })).toBe(
      'unsorted',
    );
  });
  it('gives up without exact matches when a left value is beyond 2^53 (l - 1 is not exact)', () => {
    expect(fused({ left: [2 ** 53 + 2], right: [1], allowExactMatches: false })).toBe('unsorted');
    expect(fused({ left: [2 ** 53 + 2], right: [1] })).toEqual([0]);
  });
  it('compares int64 values as float64 beyond 2^53, as word pairs read in TypeScript are', () => {
    // 2^53 + 1 rounds to 2^53 as float64: the right row then counts as not after the left one.
    const big = (xs: bigint[]) => new Int32Array(BigInt64Array.from(xs).buffer);
    const p = part({ left: [0], right: [0] });
    p.left = big([2n ** 53n]);
    p.right = big([2n ** 53n + 1n]);
    expect(asofBackwardFused(p)).toBe(0);
    expect(Array.from(p.index!)).toEqual([0]);
    // Far below -2^53 in a seed of a later part, with an unlimited tolerance.
    const q = part({ left: Array(16).fill(0), right: [0, 0] });
    q.right = big([-(2n ** 60n) - 1n, 5n]);
    q.left = big([...Array(8).fill(-(2n ** 60n)), ...Array(8).fill(7n)]);
    q.leftKeys = Int32Array.from({ length: 16 }, () => 0);
    q.rightKeys = Int32Array.of(0, 1);
    q.nKeys = 2;
    expect(asofBackwardFused({ ...q, from: 0, to: 8, jFrom: 0, jTo: 1 })).toBe(0);
    expect(asofBackwardFused({ ...q, from: 8, to: 16, jFrom: 1, jTo: 2 })).toBe(0);
    expect(Array.from(q.index!)).toEqual(Array(16).fill(0));
  });
  it('copies 64, 32, 16 and 8-bit columns bit for bit, leaving unmatched slots zero', () => {
    const p = part({ left: [0, 2, 4], right: [1, 3] });
    const i64 = BigInt64Array.of(-(2n ** 62n) - 3n, 2n ** 40n + 7n);
    const f32 = Float32Array.of(1.25, Number.NaN);
    const i16 = Int16Array.of(-2, 300);
    const u8 = Uint8Array.of(255, 7);
    const out64 = new BigInt64Array(3);
    const out32 = new Float32Array(3);
    const out16 = new Int16Array(3);
    const out8 = new Uint8Array(3);
    p.columns.w64.push(new Int32Array(i64.buffer));
    p.columns.w64Out.push(new Int32Array(out64.buffer));
    p.columns.w32.push(new Int32Array(f32.buffer));
    p.columns.w32Out.push(new Int32Array(out32.buffer));
    p.columns.w16.push(i16);
    p.columns.w16Out.push(out16);
    p.columns.w8.push(u8);
    p.columns.w8Out.push(out8);
    expect(asofBackwardFused(p)).toBe(1);
    expect(Array.from(out64)).toEqual([0n, i64[0], i64[1]]);
    expect(Array.from(out32)).toEqual([0, 1.25, Number.NaN]);
    expect(Array.from(out16)).toEqual([0, -2, 300]);
    expect(Array.from(out8)).toEqual([0, 255, 7]);
  });
  it('rejects a part that does not start at a multiple of 8', () => {
    expect(() => asofBackwardFused({ ...part({ left: Array(16).fill(1), right: [] }), from: 4 })).toThrow(
      /multiple of 8/,
    );
  });
}

/** Run the kernel over the parts of a split, as the workers would, and return the whole result. */
function split(c: Case, nParts: number): { index: number[]; validity: number[]; bid: number[] } | 'unsorted' {
  const p = part(c);
  const ranges = planBackwardParts(p.left, p.right, nParts, p.allowExactMatches);
  if (ranges === undefined) return 'unsorted';
  for (const r of ranges) if (asofBackwardFused({ ...p, ...r }) < 0) return 'unsorted';
  return { index: Array.from(p.index!), validity: valid(p.validity, c.left.length), bid: Array.from(p.bid) };
}

/** One part over everything; the values and validity must agree with the index. */
function whole(c: Case) {
  const index = fused(c);
  if (index === 'unsorted') return index;
  return {
    index,
    validity: index.map((m) => (m >= 0 ? 1 : 0)),
    bid: index.map((m) => (m >= 0 ? m + 0.5 : 0)),
  };
}

function splits(): void {
  it('starts each part after the right rows its first left row has passed', () => {
    const left = words(Array.from({ length: 24 }, (_, i) => i));
    const right = words([0, 5, 5, 9, 16, 16, 30]);
    expect(planBackwardParts(left, right, 3, true)).toEqual([
      { from: 0, to: 8, jFrom: 0, jTo: 3 },
      { from: 8, to: 16, jFrom: 3, jTo: 6 },
      { from: 16, to: 24, jFrom: 6, jTo: 7 },
    ]);
    expect(planBackwardParts(left, right, 3, false)![2].jFrom).toBe(4);
    expect(planBackwardParts(left, right, 2, false)![1]).toEqual({ from: 16, to: 24, jFrom: 4, jTo: 7 });
  });
  it('seeds keys whose last right row lies several parts back (no tolerance)', () => {
    const n = 40;
    const c: Case = {
      left: Array.from({ length: n }, (_, i) => 10 + i),
      right: [0, 1, 20, 21, 35, 49],
      leftKeys: Array.from({ length: n }, (_, i) => i % 3),
      rightKeys: [2, 0, 0, 1, 0, 2],
      nKeys: 3,
    };
    for (const parts of [1, 2, 3, 5]) expect(split(c, parts), `parts ${parts}`).toEqual(whole(c));
    expect(whole(c)).not.toBe('unsorted');
  });
  it('equals the index kernel over many blocks of left rows, whole and split', () => {
    const rnd = seededRandom(7);
    const series = (n: number, step: number) => timeSteps(rnd, n, step);
    const c: Case = {
      left: series(30_000, 10),
      right: series(15_000, 20),
      leftKeys: Array.from({ length: 30_000 }, () => Math.floor(rnd() * 5)),
      rightKeys: Array.from({ length: 15_000 }, () => Math.floor(rnd() * 4)),
      nKeys: 5,
      tolerance: 40,
    };
    const one = whole(c);
    expect(one).not.toBe('unsorted');
    if (one === 'unsorted') return;
    expect(one.index).toEqual(reference(c));
    expect(one.index.filter((m) => m >= 0).length).toBeGreaterThan(10_000);
    expect(split(c, 3)).toEqual(one);
  });
  it('equals the index kernel when blocks differ: null keys, keys past nKeys, equal times, strict', () => {
    // The C merge takes a lean loop for blocks (8192 left rows) whose rows and keys check out
    // first, and its checked loop for the others; these inputs mix both in one part.
    const rnd = seededRandom(11);
    const n = 40_000;
    const left = timeSteps(rnd, n, 4);
    const right = timeSteps(rnd, n / 2, 8);
    const leftKeys = Array.from({ length: n }, (_, i) =>
      i >= 9000 && i < 9100 ? -1 : i >= 20_000 && i < 20_050 ? 7 : Math.floor(rnd() * 4),
    );
    const rightKeys = Array.from({ length: n / 2 }, (_, j) =>
      j >= 15_000 && j < 15_020 ? -1 : Math.floor(rnd() * 4),
    );
    for (const allowExactMatches of [true, false])
      for (const tolerance of [20, 2 ** 60, Number.POSITIVE_INFINITY]) {
        const c: Case = { left, right, leftKeys, rightKeys, nKeys: 5, tolerance, allowExactMatches };
        const one = whole(c);
        expect(one, `${allowExactMatches} ${tolerance}`).not.toBe('unsorted');
        if (one === 'unsorted') return;
        expect(one.index).toEqual(reference(c));
        expect(split(c, 3)).toEqual(one);
      }
  });
  it('returns undefined when the split points are out of order; one part for an empty left', () => {
    const left = words([...Array(8).fill(5), ...Array(8).fill(60), ...Array(8).fill(10)]);
    expect(planBackwardParts(left, words([0, 20, 40, 60, 80]), 3, true)).toBeUndefined();
    expect(planBackwardParts(words([]), words([1, 2]), 2, true)).toEqual([
      { from: 0, to: 0, jFrom: 0, jTo: 2 },
    ]);
  });
  it('property: any split of random time-ordered input equals one part and the index kernel', () => {
    const arb = fc
      .record({
        nLeft: fc.integer({ min: 0, max: 70 }),
        nRight: fc.integer({ min: 0, max: 40 }),
        nKeys: fc.integer({ min: 1, max: 4 }),
        keyed: fc.boolean(),
        tolerance: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 6 })),
        allowExactMatches: fc.boolean(),
        parts: fc.integer({ min: 1, max: 6 }),
        seed: fc.integer(),
        shuffle: fc.boolean(),
      })
      .map((o) => {
        const rnd = seededRandom(o.seed);
        const series = (n: number) => {
          const xs: number[] = [];
          let t = 1_767_225_600_000_000 + Math.floor(rnd() * 3);
          for (let i = 0; i < n; i++) {
            t += Math.floor(rnd() * 3);
            xs.push(t);
          }
          return xs;
        };
        const keys = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * (o.nKeys + 1)) - 1);
        const c: Case = {
          left: series(o.nLeft),
          right: series(o.nRight),
          tolerance: o.tolerance,
          allowExactMatches: o.allowExactMatches,
          ...(o.keyed ? { leftKeys: keys(o.nLeft), rightKeys: keys(o.nRight), nKeys: o.nKeys } : {}),
        };
        // Sometimes swap two rows, so the order checks of every part are exercised.
        const side = rnd() < 0.5 ? c.left : c.right;
        if (o.shuffle && side.length > 1) {
          const a = Math.floor(rnd() * side.length);
          const b = Math.floor(rnd() * side.length);
          [side[a], side[b]] = [side[b], side[a]];
        }
        return { c, parts: o.parts };
      });
    fc.assert(
      fc.property(arb, ({ c, parts }) => {
        const one = whole(c);
        expect(split(c, parts)).toEqual(one);
        const sorted = (xs: number[]) => xs.every((v, j) => j === 0 || xs[j - 1] <= v);
        const inOrder = sorted(c.left) && sorted(c.right);
        expect(one === 'unsorted').toBe(!inOrder);
        if (one !== 'unsorted') expect(one.index).toEqual(reference(c));
      }),
      { numRuns: 400 },
    );
  });
}
