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
import { AsofMerge, type MergeEntry, mergeAppend } from './asof-state.ts';
import { buildNative, readStamp, sourceHash } from './native/build.ts';
import {
  addonProblem,
  type NativeAppend,
  type NativeFusedPart,
  type NativeMergeCarried,
  type NativeScan,
  nativeKernels,
  nativeStatus,
} from './native.ts';

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

/** `n` int64 values as the word pairs the native stream kernels read. */
const wordsOf = (...values: bigint[]) => new Int32Array(BigInt64Array.from(values).buffer);

/** An array of `n` elements over a buffer at a byte offset that is not a multiple of 8. */
const misaligned = (n: number) => new Int32Array(new ArrayBuffer(8 * n + 8), 4, 2 * n);

describe.runIf(nativeKernels() !== undefined)('native asofMergeCarried', () => {
  const native = () => nativeKernels()!;

  /**
   * A valid call: one log entry of 4 right rows over keys 0 and 1 (values 10..40 and their
   * negations), and 5 left rows, the third without a key. Views into larger arrays whose tails
   * hold a marker, to see that nothing past the rows is written.
   */
  const valid = (): NativeMergeCarried => {
    const m = new AsofMerge();
    m.ensureKeys(2);
    m.setValues(2);
    const e = m.entry(4, 0);
    const res = { max: 0, late: 0, live: 0 };
    mergeAppend(
      m,
      e,
      Float64Array.of(1, 2, 3, 4),
      Int32Array.of(0, 1, 0, 1),
      Number.NEGATIVE_INFINITY,
      0,
      9,
      res,
    );
    e.vals = [Float64Array.of(10, 20, 30, 40), Float64Array.of(-10, -20, -30, -40)];
    m.log.push(e);
    return {
      on: Float64Array.of(1.5, 2.5, 3.5, 4.5, 5),
      keys: Int32Array.of(0, 1, -1, 0, 1),
      from: 0,
      stop: 5,
      allowExactMatches: true,
      tolerance: Number.POSITIVE_INFINITY,
      log: m.log,
      cursor: new Int32Array(2),
      ts: m.mTs,
      slot: m.mSlot,
      row: m.mRowOf,
      v0: m.mV0,
      v1: m.mV1,
      outputs: [new Float64Array(8).fill(7).subarray(0, 5), new Float64Array(8).fill(7).subarray(0, 5)],
      bits: new Uint8Array(2).fill(0x80).subarray(0, 1).fill(0),
    };
  };

  it('writes the values and bits of the rows of the call, and nothing past them', () => {
    const p = valid();
    expect(native().asofMergeCarried(p)).toBe(1);
    const [o0, o1] = p.outputs;
    expect(Array.from(o0).filter((_, i) => i !== 2)).toEqual([10, 20, 30, 40]);
    expect(Array.from(o1).filter((_, i) => i !== 2)).toEqual([-10, -20, -30, -40]);
    expect(new Float64Array(o0.buffer, 40, 3)).toEqual(Float64Array.of(7, 7, 7));
    expect(new Float64Array(o1.buffer, 40, 3)).toEqual(Float64Array.of(7, 7, 7));
    expect(Array.from(new Uint8Array(p.bits.buffer))).toEqual([0b11011, 0x80]);
    // The entry's rows all passed: the cursor moves to the next entry.
    expect(Array.from(p.cursor)).toEqual([1, 0]);
  });

  /** The valid call with log entry 0 changed. */
  const withEntry = (p: NativeMergeCarried, change: Partial<Record<keyof MergeEntry, unknown>>) => ({
    ...p,
    log: [{ ...p.log[0], ...change }],
  });

  it.each<[string, (p: NativeMergeCarried) => unknown, string, RegExp]>([
    ['a missing array', (p) => ({ ...p, on: undefined }), 'TypeError', /on is missing/],
    [
      'a plain array for a typed array',
      (p) => ({ ...p, ts: [1, 2, 3] }),
      'TypeError',
      /ts must be a typed array/,
    ],
    ['left values short of stop', (p) => ({ ...p, on: p.on.subarray(0, 3) }), 'TypeError', /on is shorter/],
    ['short keys', (p) => ({ ...p, keys: p.keys!.subarray(0, 2) }), 'TypeError', /keys is shorter/],
    ['short bits', (p) => ({ ...p, bits: new Uint8Array(0) }), 'TypeError', /bits is shorter/],
    [
      'a short output',
      (p) => ({ ...p, outputs: [p.outputs[0], new Float64Array(2)] }),
      'TypeError',
      /outputs\[\] is shorter/,
    ],
    ['three outputs', (p) => ({ ...p, outputs: [...p.outputs, p.outputs[0]] }), 'TypeError', /one or two/],
    ['a misaligned array', (p) => ({ ...p, on: misaligned(5) }), 'TypeError', /on is not aligned/],
    ['a fractional row bound', (p) => ({ ...p, stop: 4.5 }), 'TypeError', /stop must be an integer/],
    ['a log that is not an array', (p) => ({ ...p, log: {} }), 'TypeError', /log must be an array/],
    ['a short cursor', (p) => ({ ...p, cursor: new Int32Array(1) }), 'TypeError', /cursor is shorter/],
    ['no tolerance', (p) => ({ ...p, tolerance: undefined }), 'TypeError', /tolerance must be a number/],
    [
      'an entry without values',
      (p) => withEntry(p, { vals: undefined }),
      'TypeError',
      /vals must be an array/,
    ],
    [
      'an entry with fewer value columns than outputs',
      (p) => withEntry(p, { vals: [p.log[0].vals![0]] }),
      'TypeError',
      /every carried column/,
    ],
    ['an entry longer than its arrays', (p) => withEntry(p, { length: 9 }), 'TypeError', /on is shorter/],
    [
      'an entry value column shorter than the entry',
      (p) => withEntry(p, { vals: [new Float64Array(2), new Float64Array(4)] }),
      'TypeError',
      /vals\[\] is shorter/,
    ],
    [
      'a per-key state of fewer than 2 slots',
      (p) => ({ ...p, v1: new Float64Array(1) }),
      'RangeError',
      /2 to/,
    ],
    ['from past stop', (p) => ({ ...p, from: 5, stop: 3 }), 'RangeError', /from must not be past stop/],
    // ensureKeys(2) gives 8 keys (ids 0..7) and 9 slots: the sink and 8 keys.
    [
      'a left key past the state',
      (p) => ({ ...p, keys: Int32Array.of(0, 1, 8, 0, 1) }),
      'RangeError',
      /key id of keys is out of range/,
    ],
    [
      'a left key below -1',
      (p) => ({ ...p, keys: Int32Array.of(0, -2, 0, 0, 1) }),
      'RangeError',
      /out of range/,
    ],
    [
      'a right key past the state',
      (p) => withEntry(p, { keys: Int32Array.of(0, 8, 0, 1) }),
      'RangeError',
      /log\[\]\.keys is out of range/,
    ],
    ['a cursor past the log', (p) => ({ ...p, cursor: Int32Array.of(2, 0) }), 'RangeError', /cursor must be/],
    [
      'a cursor past the end of its entry',
      (p) => ({ ...p, cursor: Int32Array.of(0, 9) }),
      'RangeError',
      /past the end of its entry/,
    ],
  ])('rejects %s, touching nothing', (_what, change, name, message) => {
    const p = valid();
    const call = change(p) as NativeMergeCarried;
    const before = [
      Float64Array.from(p.outputs[0]),
      Array.from(p.cursor),
      Array.from(p.bits),
      Float64Array.from(p.v0),
    ];
    expect(() => native().asofMergeCarried(call)).toThrow(
      expect.objectContaining({ name, message: expect.stringMatching(message) }),
    );
    expect([p.outputs[0], Array.from(p.cursor), Array.from(p.bits), p.v0]).toEqual(before);
  });

  it('rejects a call without an object', () => {
    expect(() => native().asofMergeCarried(undefined as unknown as NativeMergeCarried)).toThrow(TypeError);
  });
});

describe.runIf(nativeKernels() !== undefined)('native asofAppendInOrder', () => {
  const native = () => nativeKernels()!;
  const valid = (): NativeAppend => ({
    values: wordsOf(1n, 2n, 3n),
    keys: Int32Array.of(0, 1, 0),
    on: new Float64Array(3),
    entryKeys: new Int32Array(3),
    rank: new Int32Array(3),
    count: new Int32Array(2),
    appended: new Int32Array(2),
    rows: 3,
    max: Number.NEGATIVE_INFINITY,
    maxRows: 10,
  });

  it('appends the rows in order and stops at the first other one', () => {
    const p = valid();
    expect(native().asofAppendInOrder(p)).toBe(3);
    expect([Array.from(p.on), Array.from(p.rank), Array.from(p.count)]).toEqual([
      [1, 2, 3],
      [1, 1, 2],
      [2, 1],
    ]);
    expect(native().asofAppendInOrder({ ...valid(), keys: Int32Array.of(0, -1, 0) })).toBe(1);
    expect(native().asofAppendInOrder({ ...valid(), max: 2 })).toBe(0);
    expect(native().asofAppendInOrder({ ...valid(), maxRows: 1 })).toBe(2);
  });

  it('stops where `count >= maxRows` does, for any bound (the kernel compares integers)', () => {
    // Key 0 holds two rows of the three: a bound it reaches stops the append at its second row.
    const bounds = [-1, 0, 0.5, 1, 1.5, 2, 2 ** 31, 2 ** 40, Number.POSITIVE_INFINITY, Number.NaN];
    const stops = bounds.map((maxRows) => native().asofAppendInOrder({ ...valid(), maxRows }));
    expect(stops).toEqual([0, 0, 2, 2, 3, 3, 3, 3, 3, 3]);
  });

  it.each<[string, (p: NativeAppend) => unknown, string, RegExp]>([
    ['short values', (p) => ({ ...p, values: p.values.subarray(0, 5) }), 'TypeError', /values is shorter/],
    ['misaligned values', (p) => ({ ...p, values: misaligned(3) }), 'TypeError', /values is not aligned/],
    ['short keys', (p) => ({ ...p, keys: p.keys.subarray(0, 2) }), 'TypeError', /keys is shorter/],
    [
      'short entry keys',
      (p) => ({ ...p, entryKeys: new Int32Array(2) }),
      'TypeError',
      /entryKeys is shorter/,
    ],
    ['short ranks', (p) => ({ ...p, rank: new Int32Array(1) }), 'TypeError', /rank is shorter/],
    ['a missing count', (p) => ({ ...p, count: undefined }), 'TypeError', /count is missing/],
    ['a negative row count', (p) => ({ ...p, rows: -1 }), 'TypeError', /rows must be an integer/],
    ['no running max', (p) => ({ ...p, max: undefined }), 'TypeError', /max must be a number/],
    ['a key past the counts', (p) => ({ ...p, keys: Int32Array.of(0, 2, 0) }), 'RangeError', /out of range/],
    [
      'counts shorter than the keys',
      (p) => ({ ...p, appended: new Int32Array(1) }),
      'RangeError',
      /out of range/,
    ],
  ])('rejects %s, touching nothing', (_what, change, name, message) => {
    const p = valid();
    expect(() => native().asofAppendInOrder(change(p) as NativeAppend)).toThrow(
      expect.objectContaining({ name, message: expect.stringMatching(message) }),
    );
    expect([Array.from(p.on), Array.from(p.count), Array.from(p.rank)]).toEqual([
      [0, 0, 0],
      [0, 0],
      [0, 0, 0],
    ]);
  });
});

describe.runIf(nativeKernels() !== undefined)('native asofScanSortedInt64', () => {
  const native = () => nativeKernels()!;
  const valid = (): NativeScan => ({
    values: wordsOf(1n, 5n, 9n),
    rows: 3,
    output: new Float64Array(3),
    max: 6,
    lateness: 0,
  });

  it('converts the values and counts the late ones, or gives -1 out of order', () => {
    const p = valid();
    expect(native().asofScanSortedInt64(p)).toBe(2);
    expect(Array.from(p.output)).toEqual([1, 5, 9]);
    expect(native().asofScanSortedInt64({ ...valid(), values: wordsOf(1n, 9n, 5n) })).toBe(-1);
    expect(native().asofScanSortedInt64({ ...valid(), lateness: -1 })).toBe(-1);
    expect(native().asofScanSortedInt64({ ...valid(), rows: 0 })).toBe(-1);
  });

  it.each<[string, (p: NativeScan) => unknown, RegExp]>([
    ['short values', (p) => ({ ...p, values: p.values.subarray(0, 4) }), /values is shorter/],
    ['a short output', (p) => ({ ...p, output: new Float64Array(2) }), /output is shorter/],
    ['a misaligned output', (p) => ({ ...p, output: misaligned(3) }), /output is not aligned/],
    ['a fractional row count', (p) => ({ ...p, rows: 2.5 }), /rows must be an integer/],
    ['no lateness', (p) => ({ ...p, lateness: undefined }), /lateness must be a number/],
  ])('rejects %s with a TypeError, touching nothing', (_what, change, message) => {
    const p = valid();
    expect(() => native().asofScanSortedInt64(change(p) as NativeScan)).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(message) }),
    );
    expect(Array.from(p.output)).toEqual([0, 0, 0]);
  });
});
