import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Closed,
  isEwmAgg,
  type KernelAgg,
  ROLLING_AGG_KINDS,
  type RollingAggKind,
  RollingKernel,
  type RollingKernelOptions,
  rollingAggregate,
} from './rolling.ts';

const f64 = (xs: number[]) => Float64Array.from(xs);
const nulls = (xs: Float64Array) => Array.from(xs, (x) => (Number.isNaN(x) ? null : x));

function one(
  agg: RollingAggKind,
  window: RollingKernelOptions['window'],
  ts: number[],
  xs: number[],
  minPeriods = 1,
  keys: number[] | null = null,
) {
  const { out, unsortedRow } = rollingAggregate(
    { window, inputs: 1, aggs: [{ agg, input: 0, minPeriods }] },
    f64(ts),
    keys ? Int32Array.from(keys) : null,
    [f64(xs)],
  );
  expect(unsortedRow).toBe(-1);
  return nulls(out[0]);
}

/** Brute force: the window of row i recomputed from scratch. */
function reference(
  opts: RollingKernelOptions,
  ts: Float64Array,
  keys: Int32Array,
  cols: Float64Array[],
): (number | null)[][] {
  const n = ts.length;
  return opts.aggs.map((g) => {
    const res: (number | null)[] = [];
    for (let i = 0; i < n; i++) {
      if (isEwmAgg(g.agg)) {
        res.push(ewmReference(g, opts.halfLifeUs!, ts, keys, cols, i));
        continue;
      }
      const rows: number[] = [];
      const w = opts.window;
      if (w.kind === 'rows') {
        for (let j = i; j >= 0 && rows.length < w.rows; j--) if (keys[j] === keys[i]) rows.push(j);
      } else {
        const t = ts[i];
        const lc = w.closed === 'left' || w.closed === 'both';
        const rc = w.closed === 'right' || w.closed === 'both';
        for (let j = 0; j <= i; j++) {
          if (keys[j] !== keys[i]) continue;
          const lower = lc ? ts[j] >= t - w.periodUs : ts[j] > t - w.periodUs;
          const upper = rc ? ts[j] <= t : ts[j] < t;
          if (lower && upper) rows.push(j);
        }
      }
      if (g.agg === 'count' && g.input < 0) {
        res.push(rows.length >= g.minPeriods ? rows.length : null);
        continue;
      }
      const xs = rows.map((j) => cols[g.input][j]).filter((x) => !Number.isNaN(x));
      const c = xs.length;
      const sum = xs.reduce((p, x) => p + x, 0);
      const ok = c >= Math.max(g.minPeriods, 1);
      switch (g.agg) {
        case 'count':
          res.push(c >= g.minPeriods ? c : null);
          break;
        case 'sum':
          res.push(ok ? sum : null);
          break;
        case 'mean':
          res.push(ok ? sum / c : null);
          break;
        case 'min':
          res.push(ok ? Math.min(...xs) : null);
          break;
        case 'max':
          res.push(ok ? Math.max(...xs) : null);
          break;
        default: {
          if (c < Math.max(g.minPeriods, 2)) {
            res.push(null);
            break;
          }
          const mean = sum / c;
          const v = xs.reduce((p, x) => p + (x - mean) ** 2, 0) / (c - 1);
          res.push(g.agg === 'var' ? v : Math.sqrt(v));
        }
      }
    }
    return res;
  });
}

/**
 * The EW aggregates of row i from the key's non-missing values so far, in closed form: value j has
 * weight alpha_j · Π_{k > j} (1 − alpha_k) (the first value alpha 1), the weights sum to 1, and
 * the biased variance is Σ w (x − mean)². Equal to the incremental adjust=False recursion.
 */
function ewmReference(
  g: KernelAgg,
  halfLife: number,
  ts: Float64Array,
  keys: Int32Array,
  cols: Float64Array[],
  i: number,
): number | null {
  const rows: number[] = [];
  for (let j = 0; j <= i; j++) if (keys[j] === keys[i] && !Number.isNaN(cols[g.input][j])) rows.push(j);
  if (rows.length < Math.max(g.minPeriods, 1)) return null;
  const w = rows.map(() => 0);
  let later = 1;
  for (let r = rows.length - 1; r >= 0; r--) {
    const decay = r === 0 ? 0 : Math.exp((-Math.LN2 * (ts[rows[r]] - ts[rows[r - 1]])) / halfLife);
    w[r] = (1 - decay) * later;
    later *= decay;
  }
  const xs = rows.map((j) => cols[g.input][j]);
  const mean = xs.reduce((p, x, r) => p + w[r] * x, 0);
  if (g.agg === 'ewm_mean') return mean;
  const v = xs.reduce((p, x, r) => p + w[r] * (x - mean) ** 2, 0);
  return g.agg === 'ewm_var' ? v : Math.sqrt(v);
}

function expectClose(actual: (number | null)[], expected: (number | null)[], tol = 1e-9) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (e === null || a === null) expect([i, a]).toEqual([i, e]);
    else if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) expect([i, a]).toEqual([i, e]);
  }
}

describe('rolling kernel: golden', () => {
  const ts = [1, 2, 2, 3, 5, 6];
  const xs = [1, 2, 3, 4, 5, 6];
  const time = (closed: Closed) => ({ kind: 'time' as const, periodUs: 2, closed });

  it('closed=right: (t - period, t], rows at equal times see only earlier rows', () => {
    expect(one('sum', time('right'), ts, xs)).toEqual([1, 3, 6, 9, 5, 11]);
  });
  it('closed=left: [t - period, t), every row at time t is excluded', () => {
    expect(one('sum', time('left'), ts, xs)).toEqual([null, 1, 1, 6, 4, 5]);
  });
  it('closed=both: [t - period, t]', () => {
    expect(one('sum', time('both'), ts, xs)).toEqual([1, 3, 6, 10, 9, 11]);
  });
  it('closed=none: (t - period, t)', () => {
    expect(one('sum', time('none'), ts, xs)).toEqual([null, 1, 1, 5, null, 5]);
  });

  it('count windows take the last n rows of each key; min_periods defaults to the caller', () => {
    const keys = [0, 1, 0, 1, 0, 0];
    expect(one('mean', { kind: 'rows', rows: 2 }, ts, xs, 2, keys)).toEqual([null, null, 2, 3, 4, 5.5]);
    expect(one('sum', { kind: 'rows', rows: 3 }, ts, xs, 1, keys)).toEqual([1, 2, 4, 6, 9, 14]);
  });

  it('missing values (NaN) are skipped but keep their slot in count windows', () => {
    const x = [1, Number.NaN, 3, Number.NaN, Number.NaN, 6];
    const t = [1, 2, 3, 4, 5, 6];
    expect(one('count', { kind: 'rows', rows: 2 }, t, x, 0)).toEqual([1, 1, 1, 1, 0, 1]);
    expect(one('mean', { kind: 'rows', rows: 2 }, t, x, 1)).toEqual([1, 1, 3, 3, null, 6]);
    expect(one('max', { kind: 'time', periodUs: 3, closed: 'right' }, t, x)).toEqual([1, 1, 3, 3, 3, 6]);
  });

  it('min_periods counts non-missing values', () => {
    const t = [1, 2, 3, 4];
    expect(one('sum', { kind: 'time', periodUs: 10, closed: 'right' }, t, [1, 2, 3, 4], 3)).toEqual([
      null,
      null,
      6,
      10,
    ]);
  });

  it('var and std use ddof = 1 and need two values', () => {
    const v = one('var', { kind: 'rows', rows: 3 }, [1, 2, 3, 4], [2, 4, 8, 10], 1);
    expectClose(v, [null, 2, 28 / 3, 28 / 3], 1e-14);
    const s = one('std', { kind: 'rows', rows: 3 }, [1, 2, 3, 4], [2, 4, 8, 10], 1);
    expect(s[1]).toBeCloseTo(Math.SQRT2, 14);
  });

  it('vwap is sum(price*size)/sum(size) over rows where both are present', () => {
    const { out } = rollingAggregate(
      {
        window: { kind: 'time', periodUs: 10, closed: 'right' },
        inputs: 2,
        aggs: [{ agg: 'vwap', input: 0, size: 1, minPeriods: 1 }],
      },
      f64([1, 2, 3, 20]),
      null,
      [f64([10, 20, Number.NaN, 30]), f64([1, 3, 5, 2])],
    );
    expect(nulls(out[0])).toEqual([10, 17.5, 17.5, 30]);
  });

  it('ewm_mean is time-aware: one half-life halves the weight of the past', () => {
    const { out } = rollingAggregate(
      {
        window: { kind: 'rows', rows: 1 },
        inputs: 1,
        aggs: [{ agg: 'ewm_mean', input: 0, minPeriods: 1 }],
        halfLifeUs: 10,
      },
      f64([0, 10, 10, 30]),
      null,
      [f64([0, 8, 100, 4])],
    );
    // Δt = 10 → alpha 1/2; Δt = 0 → alpha 0; Δt = 20 → alpha 3/4.
    expect(nulls(out[0])).toEqual([0, 4, 4, 4]);
  });

  it('ewm_var and ewm_std: biased EW variance per key, time-aware, NaN skipped, equal times ignored', () => {
    // Half-life 10: Δt = 10 → alpha 1/2, Δt = 20 → 3/4, Δt = 0 → 0. Per value x, with d = x − m:
    // m += alpha·d, v = (1 − alpha)(v + alpha·d²); the first value sets m = x, v = 0.
    const ts = [0, 5, 10, 10, 25, 30, 40, 50, 50, 60];
    const keys = [0, 1, 0, 0, 1, 0, 0, 0, 2, 2];
    const xs = [0, 3, 8, 100, 7, 0, Number.NaN, 5, Number.NaN, 2];
    const run = (minPeriods: number) =>
      rollingAggregate(
        {
          window: { kind: 'rows', rows: 1 },
          inputs: 1,
          aggs: (['ewm_mean', 'ewm_var', 'ewm_std'] as const).map((agg) => ({ agg, input: 0, minPeriods })),
          halfLifeUs: 10,
        },
        f64(ts),
        Int32Array.from(keys),
        [f64(xs)],
      ).out.map(nulls);
    // Key 0: 0 → (m 0, v 0); 8 after 10 → d 8, m 4, v ½(0 + 32) = 16; 100 at the same time → no
    // change; 0 after 20 → d −4, m 1, v ¼(16 + 12) = 7; NaN → unchanged (its row shows m 1, v 7);
    // 5 after 20 since the last value (the NaN does not reset the clock) → d 4, m 4, v ¼(7 + 12).
    // Key 1: 3 → (3, 0); 7 after 20 → d 4, m 6, v ¼(0 + 12) = 3. Key 2: NaN first → null; 2 → (2, 0).
    const mean = [0, 3, 4, 4, 6, 1, 1, 4, null, 2];
    const variance = [0, 0, 16, 16, 3, 7, 7, 4.75, null, 0];
    const [m1, v1, s1] = run(1);
    expectClose(m1, mean, 1e-15);
    expectClose(v1, variance, 1e-15);
    expectClose(
      s1,
      variance.map((v) => (v === null ? null : Math.sqrt(v))),
      1e-15,
    );
    // min_periods counts the key's non-missing values so far (the ignored equal-time value too).
    const [m2, v2] = run(2);
    expectClose(m2, [null, null, 4, 4, 6, 1, 1, 4, null, null], 1e-15);
    expectClose(v2, [null, null, 16, 16, 3, 7, 7, 4.75, null, null], 1e-15);
    // min_periods 0 still needs one value (no mean, no variance before it).
    expect(run(0)[1][8]).toBe(null);
  });

  it('ewm_var alone and beside ewm_mean: the mean is bit-for-bit the same with or without it', () => {
    const ts = f64([0, 3, 3, 11, 12, 30]);
    const xs = [f64([1, 4, Number.NaN, -2, 7.5, 3])];
    const opts = (aggs: RollingAggKind[]): RollingKernelOptions => ({
      window: { kind: 'time', periodUs: 5, closed: 'right' },
      inputs: 1,
      aggs: aggs.map((agg) => ({ agg, input: 0, minPeriods: 1 })),
      halfLifeUs: 7,
    });
    const alone = rollingAggregate(opts(['ewm_mean']), ts, null, xs).out[0];
    const both = rollingAggregate(opts(['ewm_std', 'mean', 'ewm_mean', 'ewm_var']), ts, null, xs).out;
    expect(Array.from(both[2])).toEqual(Array.from(alone));
    const varOnly = rollingAggregate(opts(['ewm_var']), ts, null, xs).out[0];
    expect(Array.from(both[3])).toEqual(Array.from(varOnly));
    expect(Array.from(both[0])).toEqual(Array.from(varOnly, Math.sqrt));
  });

  it('reports the first row whose timestamp goes back within its key', () => {
    const k = new RollingKernel({
      window: { kind: 'rows', rows: 2 },
      inputs: 1,
      aggs: [{ agg: 'sum', input: 0, minPeriods: 1 }],
    });
    const out = [new Float64Array(4)];
    expect(k.process(f64([5, 1, 6, 4]), Int32Array.from([0, 1, 0, 1]), [f64([1, 1, 1, 1])], out)).toBe(-1);
    expect(k.process(f64([7, 3]), Int32Array.from([0, 1]), [f64([1, 1])], [new Float64Array(2)])).toBe(1);
    expect(k.process(f64([Number.NaN]), null, [f64([1])], [new Float64Array(1)])).toBe(0);
  });

  it('rejects impossible configurations', () => {
    const agg: KernelAgg = { agg: 'sum', input: 0, minPeriods: 1 };
    expect(() => new RollingKernel({ window: { kind: 'rows', rows: 0 }, inputs: 1, aggs: [agg] })).toThrow(
      /positive integer/,
    );
    expect(
      () =>
        new RollingKernel({ window: { kind: 'time', periodUs: 0, closed: 'right' }, inputs: 1, aggs: [agg] }),
    ).toThrow(/positive/);
    for (const [agg, halfLifeUs] of [
      ['ewm_mean', undefined],
      ['ewm_std', 0],
    ] as const)
      expect(
        () =>
          new RollingKernel({
            window: { kind: 'rows', rows: 2 },
            inputs: 1,
            aggs: [{ agg, input: 0, minPeriods: 1 }],
            halfLifeUs,
          }),
      ).toThrow(`${agg} needs a positive half_life`);
  });
});

describe('rolling kernel: numerical stability', () => {
  it('compensated sums stay exact where a naive running sum drifts', () => {
    // Multiples of 2^-10 below 2^45: exact window sums are computable with BigInt.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 4294967296;
    };
    const n = 20_000;
    const w = 50;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const big = i % 7 === 0 ? 2 ** 44 * (rnd() < 0.5 ? -1 : 1) : 0;
      xs[i] = big + Math.floor(rnd() * 2 ** 20) / 1024;
    }
    const ts = Float64Array.from({ length: n }, (_, i) => i);
    const { out } = rollingAggregate(
      { window: { kind: 'rows', rows: w }, inputs: 1, aggs: [{ agg: 'sum', input: 0, minPeriods: 1 }] },
      ts,
      null,
      [xs],
    );
    const scaled = Array.from(xs, (x) => BigInt(x * 1024));
    let exact = 0n;
    let naive = 0;
    let ourErr = 0;
    let naiveErr = 0;
    for (let i = 0; i < n; i++) {
      exact += scaled[i];
      naive += xs[i];
      if (i >= w) {
        exact -= scaled[i - w];
        naive -= xs[i - w];
      }
      const e = Number(exact) / 1024;
      ourErr = Math.max(ourErr, Math.abs(out[0][i] - e));
      naiveErr = Math.max(naiveErr, Math.abs(naive - e));
    }
    expect(ourErr).toBe(0);
    expect(naiveErr).toBeGreaterThan(1);
  });

  it('variance stays accurate for a large offset and a drifting level', () => {
    const n = 50_000;
    const ts = Float64Array.from({ length: n }, (_, i) => i * 10);
    const xs = Float64Array.from({ length: n }, (_, i) => 1e9 + i * 1000 + (i % 3) * 0.001);
    const { out } = rollingAggregate(
      {
        window: { kind: 'time', periodUs: 30, closed: 'right' },
        inputs: 1,
        aggs: [{ agg: 'var', input: 0, minPeriods: 1 }],
      },
      ts,
      null,
      [xs],
    );
    let worst = 0;
    for (let i = 3; i < n; i++) {
      const w = [xs[i - 2], xs[i - 1], xs[i]];
      const m = (w[0] + w[1] + w[2]) / 3;
      const v = w.reduce((p, x) => p + (x - m) ** 2, 0) / 2;
      worst = Math.max(worst, Math.abs(out[0][i] - v) / v);
    }
    expect(worst).toBeLessThan(1e-9);
  });
});

/** Every aggregate of one value column (vwap needs two). */
const AGGS = ROLLING_AGG_KINDS.filter((agg) => agg !== 'vwap');

const caseArb = fc.record({
  rows: fc.array(
    fc.record({
      dt: fc.integer({ min: 0, max: 4 }),
      key: fc.integer({ min: 0, max: 2 }),
      x: fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant(Number.NaN)),
    }),
    { minLength: 1, maxLength: 80 },
  ),
  window: fc.oneof(
    fc.record({ kind: fc.constant('rows' as const), rows: fc.integer({ min: 1, max: 6 }) }),
    fc.record({
      kind: fc.constant('time' as const),
      periodUs: fc.integer({ min: 1, max: 10 }),
      closed: fc.constantFrom<Closed>('left', 'right', 'both', 'none'),
    }),
  ),
  minPeriods: fc.integer({ min: 0, max: 3 }),
  halfLifeUs: fc.integer({ min: 1, max: 8 }),
  cuts: fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 5 }),
});

describe('rolling kernel: properties', () => {
  it('matches a brute-force window recomputation and is invariant to batch cuts', () => {
    fc.assert(
      fc.property(caseArb, ({ rows, window, minPeriods, halfLifeUs, cuts }) => {
        const n = rows.length;
        const ts = new Float64Array(n);
        let t = 0;
        rows.forEach((r, i) => {
          t += r.dt;
          ts[i] = t;
        });
        const keys = Int32Array.from(rows, (r) => r.key);
        const xs = Float64Array.from(rows, (r) => r.x);
        const aggs: KernelAgg[] = [
          ...AGGS.map((agg) => ({ agg, input: 0, minPeriods })),
          { agg: 'count', input: -1, minPeriods },
        ];
        const opts: RollingKernelOptions = { window, inputs: 1, aggs, halfLifeUs };
        const whole = rollingAggregate(opts, ts, keys, [xs]);
        const viaInt64 = aggs.map(() => new Float64Array(n));
        const nullRows = new Float64Array(3 * aggs.length);
        expect(
          new RollingKernel(opts).process(BigInt64Array.from(ts, BigInt), keys, [xs], viaInt64, nullRows),
        ).toBe(-1);
        for (let a = 0; a < aggs.length; a++) {
          expect(Array.from(viaInt64[a])).toEqual(Array.from(whole.out[a]));
          // The reported null count and first / last null row match the NaN in the output.
          const rows: number[] = [];
          viaInt64[a].forEach((v, i) => {
            if (Number.isNaN(v)) rows.push(i);
          });
          expect(Array.from(nullRows.subarray(3 * a, 3 * a + 3))).toEqual([
            rows.length,
            rows.length > 0 ? rows[0] : -1,
            rows.length > 0 ? rows[rows.length - 1] : -1,
          ]);
        }
        const ref = reference(opts, ts, keys, [xs]);
        for (let a = 0; a < aggs.length; a++) expectClose(nulls(whole.out[a]), ref[a]);
        const bounds = [...new Set([0, ...cuts.filter((c) => c < n), n])].sort((p, q) => p - q);
        const k = new RollingKernel(opts);
        const pieces: Float64Array[][] = aggs.map(() => []);
        for (let b = 0; b + 1 < bounds.length; b++) {
          const [lo, hi] = [bounds[b], bounds[b + 1]];
          const out = aggs.map(() => new Float64Array(hi - lo));
          expect(k.process(ts.subarray(lo, hi), keys.subarray(lo, hi), [xs.subarray(lo, hi)], out)).toBe(-1);
          for (let a = 0; a < out.length; a++) pieces[a].push(out[a]);
        }
        aggs.forEach((_, a) => {
          const joined = pieces[a].flatMap((p) => Array.from(p));
          expect(joined).toEqual(Array.from(whole.out[a]));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('monotonic-deque min/max equal brute force on long windows that outgrow the ring', () => {
    fc.assert(
      fc.property(
        // + 0 folds -0 into 0: the deque may return either of two equal values.
        fc.array(
          fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => x + 0),
          { minLength: 1, maxLength: 400 },
        ),
        fc.integer({ min: 1, max: 100 }),
        (values, rows) => {
          const xs = f64(values);
          const ts = Float64Array.from(values, (_, i) => i);
          const opts: RollingKernelOptions = {
            window: { kind: 'rows', rows },
            inputs: 1,
            aggs: [
              { agg: 'min', input: 0, minPeriods: 1 },
              { agg: 'max', input: 0, minPeriods: 1 },
            ],
          };
          const { out } = rollingAggregate(opts, ts, null, [xs]);
          const ref = reference(opts, ts, new Int32Array(xs.length), [xs]);
          expect(nulls(out[0])).toEqual(ref[0]);
          expect(nulls(out[1])).toEqual(ref[1]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
