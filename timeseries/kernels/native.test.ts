import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../pipeline/retry.ts';
import { int64Words, timeSteps } from '../asof-testing.ts';
import {
  asofBackwardFusedJs,
  type FusedPart,
  fusedColumns,
  nativePart,
  planBackwardParts,
} from './asof-fused.ts';
import { buildNative, readStamp, sourceHash } from './native/build.ts';
import { addonProblem, type NativeFusedPart, nativeKernels, nativeStatus } from './native.ts';

describe('the native addon', () => {
  it('is built and loaded wherever it can be built', () => {
    // `npm test` builds it first (npm run native); on a machine without a C compiler or the
    // Node.js headers the build reports why and the TypeScript kernels run.
    const build = buildNative();
    if (build.status === 'unavailable') {
      expect(nativeStatus()).toMatchObject({ loaded: false });
      return;
    }
    expect(build.status, build.status === 'failed' ? `${build.reason}\n${build.output}` : '').toBe('current');
    expect(readStamp()?.sources).toBe(sourceHash());
    expect(nativeStatus()).toMatchObject({ loaded: true });
  });

  it('is refused when disabled, missing or built from other sources', () => {
    const stamp = { sources: 'abc', compiler: 'cc', headers: '/h', node: 'v20' };
    expect(addonProblem({}, true, stamp, 'abc')).toBeUndefined();
    expect(addonProblem({ POLAROID_NATIVE: '0' }, true, stamp, 'abc')).toMatch(/POLAROID_NATIVE=0/);
    expect(addonProblem({}, false, undefined, 'abc')).toMatch(/not built/);
    expect(addonProblem({}, true, stamp, 'def')).toMatch(/other sources/);
    expect(addonProblem({}, true, undefined, 'def')).toMatch(/other sources/);
  });
});

/** A time-ordered keyed part over `nl` left and `nr` right rows, with one float64 column and an index. */
function randomPart(nl: number, nr: number, seed: number): FusedPart & { out: Float64Array } {
  const rnd = seededRandom(seed);
  const series = (n: number, step: number) => int64Words(timeSteps(rnd, n, step));
  const columns = fusedColumns();
  const out = new Float64Array(nl);
  columns.f64.push(Float64Array.from({ length: nr }, () => rnd()));
  columns.f64Out.push(out);
  return {
    left: series(nl, 10),
    right: series(nr, 20),
    leftKeys: Int32Array.from({ length: nl }, () => Math.floor(rnd() * 6) - 1),
    rightKeys: Int32Array.from({ length: nr }, () => Math.floor(rnd() * 6) - 1),
    nKeys: 5,
    tolerance: 60,
    allowExactMatches: true,
    columns,
    validity: new Uint8Array((nl + 7) >> 3),
    index: new Int32Array(nl),
    from: 0,
    to: nl,
    jFrom: 0,
    jTo: nr,
    out,
  };
}

describe.runIf(nativeKernels() !== undefined)('native asofBackwardFused', () => {
  const native = () => nativeKernels()!;

  it('runs ranges on threads of its own, with the result of one part and of the TypeScript kernel', () => {
    const a = randomPart(50_000, 25_000, 1);
    const b = randomPart(50_000, 25_000, 1);
    const c = randomPart(50_000, 25_000, 1);
    const ranges = planBackwardParts(a.left, a.right, 4, true)!;
    expect(ranges.length).toBe(4);
    const nulls = native().asofBackwardFused({ ...nativePart(a), ranges });
    expect(native().asofBackwardFused(nativePart(b))).toBe(nulls);
    expect(asofBackwardFusedJs(c)).toBe(nulls);
    expect(nulls).toBeGreaterThan(0);
    for (const other of [b, c]) {
      expect(a.index).toEqual(other.index);
      expect(a.out).toEqual(other.out);
      expect(a.validity).toEqual(other.validity);
    }
  });

  it('gives -1 when any range finds its rows out of order', () => {
    const a = randomPart(4_000, 2_000, 2);
    const ranges = planBackwardParts(a.left, a.right, 3, true)!;
    // Swap two right rows inside the last range: only that thread sees it.
    const j = ranges[2].jFrom + 5;
    const r = a.right;
    [r[2 * j], r[2 * j + 2]] = [r[2 * j + 2], r[2 * j]];
    [r[2 * j + 1], r[2 * j + 3]] = [r[2 * j + 3], r[2 * j + 1]];
    if (r[2 * j + 1] === r[2 * j + 3] && r[2 * j] === r[2 * j + 2]) r[2 * j] += 1;
    expect(native().asofBackwardFused({ ...nativePart(a), ranges })).toBe(-1);
  });

  /** A valid small part, to break one field at a time. */
  const valid = (): NativeFusedPart => nativePart(randomPart(64, 32, 3));

  it.each<[string, (p: NativeFusedPart) => unknown, RegExp]>([
    ['a missing array', (p) => ({ ...p, left: undefined }), /left is missing/],
    ['a plain array for a typed array', (p) => ({ ...p, right: [1, 2] }), /right must be a typed array/],
    ['a short left side', (p) => ({ ...p, left: p.left.subarray(0, 10) }), /shorter than the rows/],
    ['short keys', (p) => ({ ...p, rightKeys: p.rightKeys!.subarray(0, 3) }), /shorter than the rows/],
    ['a short validity', (p) => ({ ...p, validity: new Uint8Array(2) }), /shorter than the rows/],
    ['a short index', (p) => ({ ...p, index: new Int32Array(5) }), /shorter than the rows/],
    ['a short output', (p) => ({ ...p, outputs: [new Float64Array(3)] }), /shorter than the rows/],
    ['a short source', (p) => ({ ...p, sources: [new Float64Array(3)] }), /shorter than the rows/],
    ['a width that is not 1, 2, 4 or 8', (p) => ({ ...p, widths: [3] }), /widths\[\] must be 1, 2, 4 or 8/],
    ['columns that do not pair up', (p) => ({ ...p, widths: [] }), /one entry per column/],
    ['keys on one side only', (p) => ({ ...p, leftKeys: undefined }), /given together/],
    ['a fractional row bound', (p) => ({ ...p, to: 10.5 }), /to must be an integer/],
    ['a negative key count', (p) => ({ ...p, nKeys: -1 }), /nKeys must be an integer/],
    [
      'an inverted range',
      (p) => ({ ...p, ranges: [{ from: 8, to: 0, jFrom: 0, jTo: 0 }] }),
      /disjoint ranges/,
    ],
    [
      'overlapping ranges',
      (p) => ({
        ...p,
        ranges: [
          { from: 0, to: 40, jFrom: 0, jTo: 10 },
          { from: 32, to: 64, jFrom: 10, jTo: 32 },
        ],
      }),
      /disjoint ranges/,
    ],
    ['no ranges', (p) => ({ ...p, ranges: [] }), /must not be empty/],
  ])('rejects %s with a TypeError, touching nothing', (_what, change, message) => {
    const p = valid();
    const before = Float64Array.from(p.outputs[0] as Float64Array);
    expect(() => native().asofBackwardFused(change(p) as NativeFusedPart)).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(message) }),
    );
    expect(p.outputs[0]).toEqual(before);
  });

  it('rejects a range that does not start at a multiple of 8 with a RangeError', () => {
    const p = valid();
    expect(() =>
      native().asofBackwardFused({ ...p, ranges: [{ from: 4, to: 64, jFrom: 0, jTo: 32 }] }),
    ).toThrow(RangeError);
    expect(() => native().asofBackwardFused(undefined as unknown as NativeFusedPart)).toThrow(TypeError);
  });
});
