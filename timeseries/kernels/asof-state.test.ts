import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
  mergePrune,
  releasable,
  releasableSorted,
  scanLeft,
} from './asof-state.ts';

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
  }),
  fc.record({ kind: fc.constant('prune' as const), ahead: fc.integer({ min: 0, max: 2 }) }),
);

describe('AsofMerge: the same matches, drops and retained rows as per-key histories', () => {
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
          const dropsH = new Map<number, number>();
          const dropsM = new Map<number, number>();
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
              // Rows not released are dropped here: later left rows start after them.
            } else {
              const bound = leftT + s.ahead;
              for (const h of histories) {
                const d = droppable(h, bound, 'backward', allowEq, tol);
                if (d > 0) h.dropFrontRuns(d, add(dropsH));
              }
              mergePrune(m, bound, allowEq, tol, add(dropsM));
              leftT = bound;
              expect([...dropsM].sort()).toEqual([...dropsH].sort());
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

describe('scanLeft', () => {
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
        fc.integer({ min: 0, max: 3 }),
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

describe('mergeAppend over int64 values', () => {
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
