import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../pipeline/retry.ts';
import { matchBits } from './asof-gather.ts';
import {
  AsofHistory,
  AsofMerge,
  droppable,
  forEachRetained,
  type LeftScan,
  matchRows,
  mergeAppend,
  mergeMatch,
  mergeMatchCarried,
  mergePrune,
  releasable,
  releasableSorted,
  scanLeft,
} from './asof-state.ts';
import { nativeKernels } from './native.ts';
import { type KernelMode, kernelModes, useKernels } from './native-testing.ts';

/** `describe` once per kernel mode on this machine (native-testing.ts), with that mode in use. */
function describeKernels(name: string, body: () => void): void {
  describe.each(kernelModes())(`${name} (%s kernels)`, (mode) => {
    beforeAll(() => useKernels(mode));
    afterAll(() => useKernels('native'));
    body();
  });
}

/** One step of a stream in `on` order: a right batch, a left batch to match, or a prune at the left bound. */
const stepArb = fc.oneof(
  fc.record({
    kind: fc.constant('right' as const),
    rows: fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 2 }),
        k: fc.integer({ min: -1, max: 2 }),
        nan: fc.boolean(),
      }),
      {
        maxLength: 6,
      },
    ),
  }),
  fc.record({
    kind: fc.constant('left' as const),
    rows: fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 2 }),
        k: fc.integer({ min: -1, max: 3 }),
        nan: fc.boolean(),
      }),
      {
        maxLength: 6,
      },
    ),
    final: fc.boolean(),
    cut: fc.integer({ min: 0, max: 6 }),
  }),
  fc.record({ kind: fc.constant('prune' as const), ahead: fc.integer({ min: 0, max: 2 }) }),
);

/**
 * {@link mergeMatchCarried} over left rows `from..to-1` into new outputs: per row whether it
 * matched and its two carried values, and the unmatched count.
 */
function matchCarried(
  m: AsofMerge,
  on: Float64Array,
  keys: Int32Array | undefined,
  from: number,
  to: number,
  allowEq: boolean,
  tol: number,
) {
  const n = to - from;
  const out = [new Float64Array(n), new Float64Array(n)];
  const bits = new Uint8Array((n + 7) >> 3);
  const nulls = mergeMatchCarried(m, on, keys, from, to, allowEq, tol, out, bits);
  const matched = Array.from({ length: n }, (_, o) => ((bits[o >> 3] >> (o & 7)) & 1) === 1);
  return { nulls, matched, v0: Array.from(out[0]), v1: Array.from(out[1]) };
}

describeKernels('AsofMerge: the same matches, drops and retained rows as per-key histories', () => {
  it('for any sequence of in-order right batches, left batches and prunes', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 30 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        (steps, allowEq, tolerance) => {
          const tol = tolerance ?? Number.POSITIVE_INFINITY;
          const histories: AsofHistory[] = [0, 1, 2, 3].map(() => new AsofHistory());
          const m = new AsofMerge();
          // Right keys are 0..2: three keys in use, so the prune's walk can end early (left rows
          // also use key 3, which no right row has).
          m.ensureKeys(3);
          // The same merge carrying two value columns (slot·100 + row and its negation).
          const mc = new AsofMerge();
          mc.ensureKeys(3);
          mc.setValues(2);
          const dropsH = new Map<number, number>();
          const dropsM = new Map<number, number>();
          const dropsC = new Map<number, number>();
          const add = (d: Map<number, number>) => (slot: number, count: number) =>
            d.set(slot, (d.get(slot) ?? 0) + count);
          let rightT = 0;
          let maxRight = Number.NEGATIVE_INFINITY;
          let leftT = 0;
          let slot = 0;
          for (const s of steps) {
            if (s.kind === 'right') {
              const on = new Float64Array(s.rows.length);
              const keys = new Int32Array(s.rows.length);
              s.rows.forEach((r, j) => {
                rightT += r.dt;
                on[j] = r.nan ? Number.NaN : rightT;
                keys[j] = r.k;
                if (!r.nan && r.k >= 0) histories[r.k].insert(rightT, slot, j);
              });
              const e = m.entry(on.length, slot);
              const res = { max: 0, late: 0, live: 0 };
              expect(mergeAppend(m, e, on, keys, maxRight, 0, 1_000_000, res)).toBe(true);
              expect(res.live).toBe(s.rows.filter((r) => !r.nan && r.k >= 0).length);
              m.log.push(e);
              const ec = mc.entry(on.length, slot);
              expect(mergeAppend(mc, ec, on, keys, maxRight, 0, 1_000_000, res)).toBe(true);
              const id = Float64Array.from(on, (_, j) => slot * 100 + j);
              ec.vals = [id, id.map((v) => -v)];
              mc.log.push(ec);
              maxRight = res.max;
              slot++;
            } else if (s.kind === 'left') {
              const n = s.rows.length;
              const on = new Float64Array(n);
              const keys = new Int32Array(n);
              s.rows.forEach((r, j) => {
                leftT += r.dt;
                on[j] = r.nan ? Number.NaN : leftT;
                keys[j] = r.k;
              });
              const w = s.final ? Number.POSITIVE_INFINITY : maxRight;
              const hSlot = new Int32Array(n);
              const hRow = new Int32Array(n);
              const stopH = matchRows(
                histories,
                on,
                keys,
                0,
                n,
                'backward',
                allowEq,
                tol,
                w,
                false,
                hSlot,
                hRow,
              );
              const stop = releasable(on, 0, n, w, allowEq);
              expect(stop).toBe(stopH);
              const mSlot = new Int32Array(n);
              const mRow = new Int32Array(n);
              if (stop > 0) mergeMatch(m, on, keys, 0, stop, allowEq, tol, mSlot, mRow, undefined);
              for (let i = 0; i < stop; i++) {
                expect(mRow[i]).toBe(hRow[i]);
                if (hRow[i] >= 0) expect(mSlot[i]).toBe(hSlot[i]);
              }
              // The carried merge, in two calls split at `cut`.
              const cut = Math.min(s.cut, stop);
              const parts = [
                matchCarried(mc, on, keys, 0, cut, allowEq, tol),
                matchCarried(mc, on, keys, cut, stop, allowEq, tol),
              ];
              const matched = parts.flatMap((p) => p.matched);
              expect(matched).toEqual(Array.from(hRow.subarray(0, stop), (r) => r >= 0));
              expect(parts[0].nulls + parts[1].nulls).toBe(matched.filter((x) => !x).length);
              const v0 = parts.flatMap((p) => p.v0);
              const v1 = parts.flatMap((p) => p.v1);
              for (let i = 0; i < stop; i++)
                if (hRow[i] >= 0) {
                  expect(v0[i]).toBe(hSlot[i] * 100 + hRow[i]);
                  expect(v1[i]).toBe(-(hSlot[i] * 100 + hRow[i]));
                }
              // Rows not released are dropped here: later left rows start after them.
            } else {
              const bound = leftT + s.ahead;
              for (const h of histories) {
                const d = droppable(h, bound, 'backward', allowEq, tol);
                if (d > 0) h.dropFrontRuns(d, add(dropsH));
              }
              mergePrune(m, bound, allowEq, tol, add(dropsM));
              mergePrune(mc, bound, allowEq, tol, add(dropsC));
              leftT = bound;
              expect([...dropsM].sort()).toEqual([...dropsH].sort());
              expect([...dropsC].sort()).toEqual([...dropsH].sort());
              const retained: string[][] = [[], [], [], []];
              forEachRetained(m, (k, t, sl, row) => retained[k].push(`${t}@${sl}.${row}`));
              histories.forEach((h, k) => {
                const rows: string[] = [];
                for (let p = h.start; p < h.end; p++) rows.push(`${h.ts[p]}@${h.slot[p]}.${h.row[p]}`);
                expect(retained[k]).toEqual(rows);
                expect(m.count[k]).toBe(rows.length);
              });
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses a right batch out of order, or one that would put a key past its row bound', () => {
    const m = new AsofMerge();
    m.ensureKeys(1);
    const res = { max: 0, late: 0, live: 0 };
    const ok = mergeAppend(
      m,
      m.entry(2, 0),
      Float64Array.from([1, 2]),
      Int32Array.from([0, 0]),
      Number.NEGATIVE_INFINITY,
      0,
      3,
      res,
    );
    expect(ok).toBe(true);
    // 1.5 is below the running max 2 but within the lateness 1: retained, out of order.
    expect(mergeAppend(m, m.entry(1, 1), Float64Array.from([1.5]), Int32Array.from([0]), 2, 1, 3, res)).toBe(
      false,
    );
    // Below the running max − lateness: late, dropped and counted.
    expect(mergeAppend(m, m.entry(1, 1), Float64Array.from([0.5]), Int32Array.from([0]), 2, 1, 3, res)).toBe(
      true,
    );
    expect(res.late).toBe(1);
    expect(res.live).toBe(0);
    // Two more rows of key 0 would make 4 > 3; the counts are left as they were.
    expect(
      mergeAppend(m, m.entry(2, 2), Float64Array.from([3, 4]), Int32Array.from([0, 0]), 2, 0, 3, res),
    ).toBe(false);
    expect(m.count[0]).toBe(2);
    expect(m.appended[0]).toBe(2);
  });
});

describeKernels('scanLeft', () => {
  /** The scan by its definition, row by row. */
  function reference(values: number[], maxIn: number, lateness: number): LeftScan {
    let max = maxIn;
    let min = Number.POSITIVE_INFINITY;
    let late = 0;
    let sorted = true;
    values.forEach((t, i) => {
      if (t < max - lateness) late++;
      max = Math.max(max, t);
      min = Math.min(min, t);
      if (i > 0 && t < values[i - 1]) sorted = false;
    });
    return { max, min, sorted, late };
  }

  it('converts int64 values and reports max, min, order and late rows, sorted or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: -8, max: 8 }),
        fc.integer({ min: -1, max: 3 }),
        (steps, ascending, maxIn, lateness) => {
          // Ascending: cumulative non-negative steps around 2^40 (both words in use), else as drawn.
          const values: number[] = [];
          let t = 2 ** 40;
          for (const d of steps) {
            t += Math.abs(d);
            values.push(ascending ? t : 2 ** 40 + d);
          }
          const src = BigInt64Array.from(values.map((v) => BigInt(v)));
          const out = new Float64Array(values.length);
          const res: LeftScan = { max: 0, min: 0, sorted: false, late: -1 };
          scanLeft(src, out, 2 ** 40 + maxIn, lateness, res);
          expect(Array.from(out)).toEqual(values);
          expect(res).toEqual(reference(values, 2 ** 40 + maxIn, lateness));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts late rows against the running max in a sorted batch with no lateness', () => {
    const res: LeftScan = { max: 0, min: 0, sorted: false, late: -1 };
    const out = new Float64Array(4);
    scanLeft(BigInt64Array.from([3n, 5n, 5n, 9n]), out, 6, 0, res);
    expect(res).toEqual({ max: 9, min: 3, sorted: true, late: 3 });
  });
});

describe('matchBits', () => {
  it('sets the bit of each matched row and counts the others, for any length', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 40 }), (rows) => {
        const row = Int32Array.from(rows);
        const bitmap = new Uint8Array(((rows.length + 7) >> 3) + 1).fill(0xff);
        const nulls = matchBits(row, rows.length, bitmap);
        expect(nulls).toBe(rows.filter((r) => r < 0).length);
        for (let i = 0; i < rows.length; i++)
          expect((bitmap[i >> 3] >> (i & 7)) & 1).toBe(rows[i] >= 0 ? 1 : 0);
        // Bits past the last row within its byte are zero; bytes past it are not written.
        if (rows.length & 7) expect(bitmap[rows.length >> 3] >> (rows.length & 7)).toBe(0);
        expect(bitmap[bitmap.length - 1]).toBe(0xff);
      }),
      { numRuns: 300 },
    );
  });
});

describeKernels('mergeAppend over int64 values', () => {
  it('gives what it gives for the same values as float64 (in order, late, null keys, past the bound)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: -2, max: 3 }), k: fc.integer({ min: -1, max: 2 }) }), {
          maxLength: 10,
        }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        (rows, lateness, maxRows, before) => {
          let t = 2 ** 40;
          const values = rows.map((r) => (t += r.dt));
          const keys = Int32Array.from(rows.map((r) => r.k));
          const run = (src: Float64Array | BigInt64Array) => {
            const m = new AsofMerge();
            m.ensureKeys(3);
            m.count.set(before);
            const e = m.entry(values.length, 0);
            const res = { max: 0, late: 0, live: 0 };
            const ok = mergeAppend(m, e, src, keys, 2 ** 40, lateness, maxRows, res);
            return {
              ok,
              res,
              count: Array.from(m.count.subarray(0, 3)),
              appended: Array.from(m.appended.subarray(0, 3)),
              on: ok ? Array.from(e.on.subarray(0, values.length)) : [],
              keys: ok ? Array.from(e.keys.subarray(0, values.length)) : [],
              ranks: ok ? Array.from(e.rank.subarray(0, values.length)).filter((_, j) => e.keys[j] >= 0) : [],
            };
          };
          expect(run(BigInt64Array.from(values.map((v) => BigInt(v))))).toEqual(
            run(Float64Array.from(values)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('releasableSorted', () => {
  it('stops where releasable stops on non-decreasing values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: -1, max: 14 }),
        fc.boolean(),
        (steps, fromDraw, w, allowEq) => {
          let t = 0;
          const on = Float64Array.from(steps.map((d) => (t += d)));
          const from = Math.min(fromDraw, on.length);
          expect(releasableSorted(on, from, on.length, w, allowEq)).toBe(
            releasable(on, from, on.length, w, allowEq),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** The bytes of a typed array, to compare values bit for bit (NaN payloads, -0). */
const bytesOf = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/** A float64 whose bits are `hi:lo` (NaN payloads and the like). */
function fromBits(hi: number, lo: number): number {
  const words = new Uint32Array([lo, hi]);
  return new Float64Array(words.buffer)[0];
}

/** One step of a stream for the kernel comparison: a right batch, a left batch matched in chunks, a prune. */
const mergeStepArb = fc.oneof(
  fc.record({
    kind: fc.constant('right' as const),
    int64: fc.boolean(),
    rows: fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 2 }),
        k: fc.integer({ min: -1, max: 2 }),
        kind: fc.constantFrom('row', 'row', 'row', 'nan', 'late'),
      }),
      { minLength: 1, maxLength: 10 },
    ),
  }),
  fc.record({
    kind: fc.constant('left' as const),
    rows: fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 2 }),
        k: fc.integer({ min: -1, max: 3 }),
        nan: fc.boolean(),
        // A NaN with its sign bit set, or -0 for a value of 0.
        neg: fc.boolean(),
      }),
      { maxLength: 20 },
    ),
    cuts: fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('prune' as const), ahead: fc.integer({ min: 0, max: 2 }) }),
);

type MergeStep = typeof mergeStepArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Run a stream of steps through the merge with the given kernels, carrying `values` columns (a
 * mix of ordinary values, -0, infinities and NaN payloads), with `on` values from `T` up (the C
 * match compares positive values as integers, others as float64); returns everything the match
 * wrote and the state it left, call by call, as bytes.
 */
function runMerge(
  mode: KernelMode,
  steps: MergeStep[],
  values: 1 | 2,
  keyed: boolean,
  allowEq: boolean,
  tol: number,
  T: number,
): unknown[] {
  useKernels(mode);
  const m = new AsofMerge();
  m.ensureKeys(4);
  m.setValues(values);
  const seen: unknown[] = [];
  let rightT = 0;
  let leftT = 0;
  let maxRight = Number.NEGATIVE_INFINITY;
  let slot = 0;
  const special = [-0, Number.POSITIVE_INFINITY, fromBits(0x7ff00000, 1), fromBits(0xfff81234, 5678)];
  for (const s of steps) {
    if (s.kind === 'right') {
      const n = s.rows.length;
      const maxIn = maxRight;
      // A late row is 2 below the running max of the rows retained (lateness 1).
      const t = s.rows.map((r) => {
        rightT += r.dt;
        if (r.kind === 'late' && maxRight > Number.NEGATIVE_INFINITY) return maxRight - 2;
        if (r.kind === 'nan' && !s.int64) return Number.NaN;
        if (!keyed || r.k >= 0) maxRight = T + rightT;
        return T + rightT;
      });
      const src = s.int64 ? BigInt64Array.from(t, (v) => BigInt(v)) : Float64Array.from(t);
      const keys = keyed ? Int32Array.from(s.rows, (r) => r.k) : undefined;
      const e = m.entry(n, slot);
      const res = { max: 0, late: 0, live: 0 };
      expect(mergeAppend(m, e, src, keys, maxIn, 1, 1_000_000, res)).toBe(true);
      expect(res.max).toBe(maxRight);
      e.vals = Array.from({ length: values }, (_, c) =>
        Float64Array.from({ length: n }, (_, j) =>
          j % 3 === 2 ? special[(j + c) % 4] : slot * 100 + j + c / 10,
        ),
      );
      m.log.push(e);
      const ranks = Array.from(e.rank.subarray(0, n)).filter((_, j) => e.keys[j] >= 0);
      seen.push(res, bytesOf(e.on.subarray(0, n)), bytesOf(e.keys.subarray(0, n)), ranks, bytesOf(m.count));
      slot++;
    } else if (s.kind === 'left') {
      const n = s.rows.length;
      const on = Float64Array.from(s.rows, (r) => {
        leftT += r.dt;
        if (r.nan) return r.neg ? fromBits(0xfff80000, 0) : Number.NaN;
        return r.neg && T + leftT === 0 ? -0 : T + leftT;
      });
      const keys = keyed ? Int32Array.from(s.rows, (r) => r.k) : undefined;
      const cuts = [0, ...s.cuts.map((c) => Math.min(c, n)).sort((a, b) => a - b), n];
      for (let c = 1; c < cuts.length; c++) {
        const rows = cuts[c] - cuts[c - 1];
        // Outputs filled with a marker, so rows written are told from rows not written.
        const out = Array.from({ length: values }, () => new Float64Array(rows).fill(7.5));
        const bits = new Uint8Array((rows + 7) >> 3);
        const nulls = mergeMatchCarried(m, on, keys, cuts[c - 1], cuts[c], allowEq, tol, out, bits);
        seen.push(nulls, out.map(bytesOf), bytesOf(bits), m.mEntry, m.mRow);
        seen.push([m.mTs, m.mSlot, m.mRowOf, m.mV0, m.mV1].map(bytesOf));
      }
    } else {
      leftT += s.ahead;
      mergePrune(m, T + leftT, allowEq, tol, () => {});
    }
  }
  return seen;
}

describe.runIf(nativeKernels() !== undefined)('the native merge kernels', () => {
  afterAll(() => useKernels('native'));

  it('write what the TypeScript kernels write, bit for bit: values under unmatched rows, per-key state and cursor included', () => {
    fc.assert(
      fc.property(
        fc.array(mergeStepArb, { maxLength: 25 }),
        fc.constantFrom<1 | 2>(1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 1, 2, Number.POSITIVE_INFINITY),
        fc.constantFrom(2 ** 40, 0, -3, -(2 ** 40)),
        (steps, values, keyed, allowEq, tol, base) => {
          expect(runMerge('native', steps, values, keyed, allowEq, tol, base)).toEqual(
            runMerge('typescript', steps, values, keyed, allowEq, tol, base),
          );
        },
      ),
      { numRuns: 600 },
    );
  });

  it('compare -0 with +0 and NaN with anything as float64 does (the C match compares integers where it can)', () => {
    const right = (dts: number[]): MergeStep => ({
      kind: 'right',
      int64: false,
      rows: dts.map((dt) => ({ dt, k: 0, kind: 'row' as const })),
    });
    const left = (rows: [number, boolean, boolean][], cuts: number[]): MergeStep => ({
      kind: 'left',
      rows: rows.map(([dt, nan, neg]) => ({ dt, k: 0, nan, neg })),
      cuts,
    });
    // Right rows at 0, 0 and 1 against left rows -0 and +0, then -NaN and 1, then NaN (a call
    // each); then right rows from 2 on (above +0) against -NaN and NaN between left rows.
    const steps = [
      right([0, 0, 1]),
      left(
        [
          [0, false, true],
          [0, false, false],
          [0, true, true],
          [1, false, false],
          [0, true, false],
        ],
        [2, 4],
      ),
      right([1, 1, 1]),
      left(
        [
          [1, false, false],
          [0, true, true],
          [1, false, false],
          [0, true, false],
          [1, false, false],
        ],
        [3],
      ),
    ];
    for (const allowEq of [true, false])
      for (const keyed of [true, false])
        expect(runMerge('native', steps, 2, keyed, allowEq, 1, 0)).toEqual(
          runMerge('typescript', steps, 2, keyed, allowEq, 1, 0),
        );
  });

  it('split long spans into two walks with the results of one: left rows in order, with NaN rows, or out of order', () => {
    /**
     * Right batches of 100 to 600 rows and left batches of 2 to 5 times as many (the C match splits
     * a span from 256 left rows): left rows in order, or with NaN rows, or stepping back now and
     * then (then the second walk's start is wrong and its work is dropped).
     */
    const longSteps = (seed: number, kind: 'sorted' | 'nan' | 'disorder'): MergeStep[] => {
      const rnd = seededRandom(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const steps: MergeStep[] = [];
      for (let b = 0; b < 4; b++) {
        const n = 100 + int(500);
        steps.push({
          kind: 'right',
          int64: rnd() < 0.5,
          rows: Array.from({ length: n }, () => ({
            dt: int(3),
            k: int(4) - 1,
            kind: rnd() < 0.02 ? ('late' as const) : ('row' as const),
          })),
        });
        const m = n * (2 + int(4));
        steps.push({
          kind: 'left',
          rows: Array.from({ length: m }, () => ({
            dt: kind === 'disorder' && rnd() < 0.01 ? -3 : int(2),
            k: int(5) - 1,
            nan: kind === 'nan' && rnd() < 0.05,
            neg: false,
          })),
          cuts: rnd() < 0.5 ? [] : [int(m)],
        });
        if (rnd() < 0.5) steps.push({ kind: 'prune', ahead: 0 });
      }
      return steps;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom<'sorted' | 'nan' | 'disorder'>('sorted', 'nan', 'disorder'),
        fc.constantFrom<1 | 2>(1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 3, Number.POSITIVE_INFINITY),
        (seed, kind, values, keyed, allowEq, tol) => {
          const steps = longSteps(seed, kind);
          expect(runMerge('native', steps, values, keyed, allowEq, tol, 2 ** 40)).toEqual(
            runMerge('typescript', steps, values, keyed, allowEq, tol, 2 ** 40),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('convert and check int64 left values as the TypeScript kernel does, giving up on the same batches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), { maxLength: 12 }),
        fc.boolean(),
        fc.double({ noNaN: false }),
        fc.constantFrom(0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY),
        (values, sorted, maxIn, lateness) => {
          const src = BigInt64Array.from(
            sorted ? [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : values,
          );
          const run = (mode: KernelMode) => {
            useKernels(mode);
            const out = new Float64Array(src.length);
            const res: LeftScan = { max: 0, min: 0, sorted: false, late: -1 };
            scanLeft(src, out, maxIn, lateness, res);
            return { res, out: bytesOf(out) };
          };
          expect(run('native')).toEqual(run('typescript'));
        },
      ),
      { numRuns: 500 },
    );
  });
});
