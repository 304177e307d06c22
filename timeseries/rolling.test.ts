import type { Table, Vector } from 'apache-arrow';
import fc from 'fast-check';
import pl from 'nodejs-polars';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Registry } from '../config/registry.ts';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch } from '../pipeline/types.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import {
  type Closed,
  RollingConfigError,
  type RollingOptions,
  RollingUnsortedError,
  registerRolling,
  rolling,
  rollingSpec,
  rollingStream,
} from './rolling.ts';

interface Rows {
  tsMs: number[];
  sym: string[];
  price: (number | null)[];
  size?: number[];
}

function table(r: Rows): Table {
  const dict = [...new Set(r.sym)];
  const valid = Uint8Array.from(r.price, (p) => (p === null ? 0 : 1));
  const cols: Record<string, Vector> = {
    ts: timestampVector(Float64Array.from(r.tsMs, (t) => t * 1000)),
    symbol: dictionaryVector(
      Int32Array.from(r.sym, (s) => dict.indexOf(s)),
      dict,
    ),
    price: float64Vector(
      Float64Array.from(r.price, (p) => p ?? 0),
      valid,
    ),
  };
  if (r.size) cols.size = float64Vector(Float64Array.from(r.size));
  return tableFromVectors(cols);
}

const col = (t: Table, name: string) => Array.from(t.getChild(name)!, (x) => (x === null ? null : Number(x)));

async function streamed(
  t: Table,
  opts: RollingOptions,
  cuts: number[],
): Promise<{ out: Table; batches: Batch[] }> {
  const bounds = [...new Set([0, ...cuts.filter((c) => c < t.numRows), t.numRows])].sort((a, b) => a - b);
  const inputs: Batch[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = t.slice(bounds[i], bounds[i + 1]);
    for (const data of part.batches) inputs.push({ stream: 'trades', data, acks: new AckSet() });
  }
  const batches = await lastValueFrom(from(inputs).pipe(rollingStream(opts), toArray()));
  batches.forEach((b, i) => {
    expect(b.acks).toBe(inputs[i].acks);
    expect(b.data.numRows).toBe(inputs[i].data.numRows);
  });
  const { Table: ArrowTable } = await import('apache-arrow');
  return { out: new ArrowTable(batches.map((b) => b.data)), batches };
}

describe('rolling operator', () => {
  const rows: Rows = {
    tsMs: [1000, 1200, 1500, 1900, 2100, 2600],
    sym: ['A', 'B', 'A', 'A', 'B', 'A'],
    price: [10, 20, 12, null, 22, 14],
    size: [1, 2, 3, 4, 5, 6],
  };

  it('adds one column per aggregate with default and chosen names', () => {
    const out = rolling(table(rows), {
      by: 'symbol',
      period: '1s',
      aggs: [
        { agg: 'mean', column: 'price' },
        { agg: 'max', column: 'price', as: 'hi' },
        { agg: 'count', column: 'price' },
        { agg: 'count' },
      ],
    });
    expect(out.schema.fields.map((f) => f.name)).toEqual([
      'ts',
      'symbol',
      'price',
      'size',
      'price_mean_1s',
      'hi',
      'price_count_1s',
      'count_1s',
    ]);
    // A: 1000 {10}, 1500 {10,12}, 1900 {10,12,null}, 2600 (1.6s,2.6s] {null,14}; B: 1200 {20}, 2100 (1.1,2.1] {20,22}
    expect(col(out, 'price_mean_1s')).toEqual([10, 20, 11, 11, 21, 14]);
    expect(col(out, 'hi')).toEqual([10, 20, 12, 12, 22, 14]);
    expect(col(out, 'price_count_1s')).toEqual([1, 1, 2, 2, 2, 1]);
    expect(col(out, 'count_1s')).toEqual([1, 1, 2, 3, 2, 2]);
    expect(String(out.schema.fields[7].type)).toBe('Int64');
  });

  it('row windows default min_periods to the window size; vwap uses price and size', () => {
    const out = rolling(table(rows), {
      by: ['symbol'],
      rows: 2,
      price: 'price',
      size: 'size',
      aggs: [{ agg: 'sum', column: 'price' }, { agg: 'vwap' }],
    });
    expect(col(out, 'price_sum_2rows')).toEqual([null, null, 22, null, 42, null]);
    // A rows (10,1) (12,3) (null,4) (14,6): vwap over pairs with both present.
    expect(col(out, 'vwap_2rows')).toEqual([null, null, (10 + 36) / 4, null, (40 + 110) / 7, null]);
    const min1 = rolling(table(rows), {
      by: 'symbol',
      rows: 2,
      min_periods: 1,
      aggs: [{ agg: 'sum', column: 'price' }],
    });
    expect(col(min1, 'price_sum_2rows')).toEqual([10, 20, 22, 12, 42, 14]);
  });

  it('replaces a column it writes, keeping the other columns in place', () => {
    const out = rolling(table(rows), { period: '10s', aggs: [{ agg: 'min', column: 'price', as: 'price' }] });
    expect(out.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'price', 'size']);
    expect(col(out, 'price')).toEqual([10, 10, 10, 10, 10, 10]);
  });

  it('rejects unsorted input, naming the column and the key', () => {
    const bad = table({ tsMs: [1000, 900, 800], sym: ['A', 'B', 'A'], price: [1, 2, 3] });
    expect(() =>
      rolling(bad, { by: 'symbol', period: '1s', aggs: [{ agg: 'sum', column: 'price' }] }),
    ).toThrow(/column "ts" is not sorted within key symbol=A: row 2/);
    try {
      rolling(bad, { period: '1s', aggs: [{ agg: 'sum', column: 'price' }] });
    } catch (e) {
      expect(e).toBeInstanceOf(RollingUnsortedError);
      expect((e as RollingUnsortedError).code).toBe('POLAROID_ROLLING_UNSORTED');
      expect((e as RollingUnsortedError).retriable).toBe(false);
    }
  });

  it('unsorted: skip gives late rows null aggregates, leaves the window and reports them', async () => {
    const t = table({ tsMs: [1000, 1500, 1200, 1800], sym: ['A', 'A', 'A', 'A'], price: [1, 2, 100, 3] });
    const opts: RollingOptions = { period: '1s', unsorted: 'skip', aggs: [{ agg: 'sum', column: 'price' }] };
    expect(col(rolling(t, opts), 'price_sum_1s')).toEqual([1, 3, null, 6]);
    const seen: number[][] = [];
    const out = await lastValueFrom(
      from([{ stream: 's', data: t.batches[0], acks: new AckSet() }]).pipe(
        rollingStream(opts, { skipped: (rows, total) => seen.push([rows, total]) }),
        toArray(),
      ),
    );
    expect(out[0].data.numRows).toBe(4);
    expect(seen).toEqual([[1, 1]]);
  });

  it.each<[RollingOptions, RegExp]>([
    [{ aggs: [{ agg: 'sum', column: 'price' }] }, /exactly one of period/],
    [{ period: '1s', rows: 3, aggs: [{ agg: 'sum', column: 'price' }] }, /exactly one of period/],
    [{ period: '1mo', aggs: [{ agg: 'sum', column: 'price' }] }, /not a fixed duration/],
    [{ period: '1s', aggs: [{ agg: 'vwap' }] }, /vwap needs price and size/],
    [{ period: '1s', aggs: [{ agg: 'ewm_mean', column: 'price' }] }, /needs half_life/],
    [{ period: '1s', aggs: [{ agg: 'ewm_var', column: 'price' }] }, /ewm_var needs half_life/],
    [{ period: '1s', half_life: '1s', aggs: [{ agg: 'ewm_std' }] }, /ewm_std needs a column/],
    [{ period: '1s', aggs: [{ agg: 'mean' }] }, /mean needs a column/],
    [{ period: '1s', aggs: [{ agg: 'sum', column: 'nope' }] }, /"nope" not found/],
    [
      { period: '1s', aggs: [{ agg: 'sum', column: 'symbol' }] },
      /"symbol" is Dictionary.*expected a numeric column/,
    ],
    [{ ts: 'price', period: '1s', aggs: [{ agg: 'sum', column: 'size' }] }, /ts column "price" is Float64/],
    [
      {
        period: '1s',
        aggs: [
          { agg: 'sum', column: 'price', as: 'x' },
          { agg: 'max', column: 'price', as: 'x' },
        ],
      },
      /two aggregates write column "x"/,
    ],
  ])('config error %#', (opts, re) => {
    expect(() => rolling(table(rows), opts)).toThrow(RollingConfigError);
    expect(() => rolling(table(rows), opts)).toThrow(re);
  });

  it('ewm_mean follows the key across rows with a time-based alpha', () => {
    const out = rolling(
      table({ tsMs: [0, 1000, 1000, 3000], sym: ['A', 'A', 'B', 'A'], price: [0, 8, 5, 4] }),
      {
        by: 'symbol',
        rows: 1,
        half_life: '1s',
        aggs: [{ agg: 'ewm_mean', column: 'price', min_periods: 1 }],
      },
    );
    expect(col(out, 'price_ewm_mean_1s')).toEqual([0, 4, 5, 4]);
  });

  it('ewm_var and ewm_std: biased EW variance per key, over unequal gaps, nulls and equal times', async () => {
    // Half-life 1s. A: 10 at 0 → (m 10, v 0); 14 after 1s (alpha ½) → d 4, m 12, v ½(0 + 8) = 4;
    // 50 at the same instant → alpha 0, no change; null → unchanged; 0 at 4s, 3s after the last
    // value (alpha 7/8) → d −12, m 1.5, v ⅛(4 + 126) = 16.25. B: 5 → (5, 0).
    const t = table({
      tsMs: [0, 1000, 1000, 1000, 3000, 4000],
      sym: ['A', 'A', 'B', 'A', 'A', 'A'],
      price: [10, 14, 5, 50, null, 0],
    });
    const opts: RollingOptions = {
      by: 'symbol',
      period: '1s',
      half_life: '1s',
      aggs: [
        { agg: 'ewm_var', column: 'price' },
        { agg: 'ewm_std', column: 'price' },
        { agg: 'ewm_std', column: 'price', min_periods: 2, as: 'sd2' },
      ],
    };
    const out = rolling(t, opts);
    const variance = [0, 4, 0, 4, 4, 16.25];
    const near = (got: (number | null)[], want: (number | null)[]) => {
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        const w = want[i];
        if (w === null) expect(got[i]).toBe(null);
        else expect(got[i]).toBeCloseTo(w, 12);
      }
    };
    near(col(out, 'price_ewm_var_1s'), variance);
    near(col(out, 'price_ewm_std_1s'), variance.map(Math.sqrt));
    near(col(out, 'sd2'), [null, 2, null, 2, 2, Math.sqrt(16.25)]);
    const { out: streamedOut } = await streamed(t, opts, [1, 3, 4]);
    for (const name of ['price_ewm_var_1s', 'price_ewm_std_1s', 'sd2'])
      expect(col(streamedOut, name)).toEqual(col(out, name));
  });

  it('the spec parses its examples, rejects unknown keys and registers once', () => {
    for (const ex of rollingSpec.examples ?? [])
      expect(rollingSpec.config.safeParse(parseYaml(ex.yaml)).success).toBe(true);
    const bad = rollingSpec.config.safeParse({
      period: '1s',
      aggs: [{ agg: 'sum', column: 'p' }],
      window: 3,
    });
    expect(bad.success).toBe(false);
    const missing = rollingSpec.config.safeParse({ period: '1s', aggs: [{ agg: 'vwap' }] });
    expect(missing.success).toBe(false);
    const issues = (config: unknown) =>
      (rollingSpec.config.safeParse(config).error?.issues ?? []).map((i) => [i.path.join('.'), i.message]);
    expect(issues({ period: '1s', half_life: '1s', aggs: [{ agg: 'ewm_var' }] })).toEqual([
      ['aggs.0.column', 'ewm_var needs a column'],
    ]);
    expect(issues({ period: '1s', aggs: [{ agg: 'ewm_std', column: 'price' }] })).toEqual([
      ['aggs.0.agg', 'ewm_std needs half_life'],
    ]);
    const reg = new Registry();
    registerRolling(reg);
    expect(reg.op('rolling')).toBe(rollingSpec);
  });
});

function randomRows(seed: number, n: number, keys: number, nullRate: number, dupRate: number): Rows {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 4294967296;
  };
  const r: Rows = { tsMs: [], sym: [], price: [], size: [] };
  let t = 1_700_000_000_000;
  const level = Array.from({ length: keys }, () => 100);
  for (let i = 0; i < n; i++) {
    if (rnd() >= dupRate) t += 1 + Math.floor(rnd() * 40);
    const k = Math.floor(rnd() * keys);
    level[k] += rnd() - 0.5;
    r.tsMs.push(t);
    r.sym.push(`S${k}`);
    r.price.push(rnd() < nullRate ? null : Math.round(level[k] * 100) / 100);
    r.size!.push(1 + Math.floor(rnd() * 10));
  }
  return r;
}

describe('rolling: streaming equals batch for any split', () => {
  it('time and row windows, with nulls, equal timestamps and every aggregate', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1e9 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 6 }),
        fc.constantFrom<Closed>('left', 'right', 'both', 'none'),
        fc.boolean(),
        async (seed, cuts, closed, byRows) => {
          const t = table(randomRows(seed, 120, 3, 0.1, 0.2));
          const opts: RollingOptions = {
            by: 'symbol',
            ...(byRows ? { rows: 4, min_periods: 1 } : { period: '60ms', closed }),
            price: 'price',
            size: 'size',
            half_life: '50ms',
            aggs: [
              ...(['sum', 'mean', 'min', 'max', 'std', 'var', 'count'] as const).map((agg) => ({
                agg,
                column: 'price',
              })),
              { agg: 'vwap' as const },
              { agg: 'ewm_mean' as const, column: 'price' },
              { agg: 'ewm_var' as const, column: 'price' },
              { agg: 'ewm_std' as const, column: 'price', min_periods: 2 },
              { agg: 'count' as const },
            ],
          };
          const whole = rolling(t, opts);
          const { out } = await streamed(t, opts, cuts);
          for (const f of whole.schema.fields) expect(col(out, f.name)).toEqual(col(whole, f.name));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('rolling: cross-check with nodejs-polars', () => {
  const aggNames = ['sum', 'mean', 'min', 'max', 'std', 'var', 'count'] as const;

  function polarsFrame(r: Rows) {
    // Sorted by (symbol, ts) so that Polars' per-group output order is the input order.
    const order = r.tsMs
      .map((_, i) => i)
      .sort((a, b) => (r.sym[a] < r.sym[b] ? -1 : r.sym[a] > r.sym[b] ? 1 : a - b));
    const sorted: Rows = {
      tsMs: order.map((i) => r.tsMs[i]),
      sym: order.map((i) => r.sym[i]),
      price: order.map((i) => r.price[i]),
    };
    const df = pl.DataFrame({
      ts: sorted.tsMs.map((t) => new Date(t)),
      symbol: sorted.sym,
      price: pl.Series('price', sorted.price, pl.Float64),
    });
    return { sorted, df };
  }

  function close(a: (number | null)[], b: (number | null)[], what: string) {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      const y = b[i];
      const ok = x === null || y === null ? x === y : Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y));
      if (!ok) expect({ what, row: i, ours: x }).toEqual({ what, row: i, ours: y });
    }
  }

  it.each<Closed>(['right', 'left', 'both', 'none'])(
    'time windows, closed=%s (group_by_rolling)',
    (closed) => {
      for (const seed of [11, 12]) {
        const { sorted, df } = polarsFrame(randomRows(seed, 400, 4, 0.1, 0.15));
        const ours = rolling(table(sorted), {
          by: 'symbol',
          period: '100ms',
          closed,
          aggs: aggNames.map((agg) => ({ agg, column: 'price' })),
        });
        const theirs = df
          .groupByRolling({ indexColumn: 'ts', period: '100ms', closed, by: 'symbol' })
          .agg(aggNames.map((a) => (pl.col('price') as any)[a]().alias(a)));
        expect(theirs.getColumn('symbol').toArray()).toEqual(sorted.sym);
        const count = theirs.getColumn('count').toArray().map(Number);
        // Polars windows hold every row of an instant; ours are causal, so they agree on the last
        // row of each equal-timestamp run (and on every row when the right end is open).
        const comparable = sorted.tsMs.map(
          (t, i) =>
            closed === 'left' ||
            closed === 'none' ||
            !(sorted.tsMs[i + 1] === t && sorted.sym[i + 1] === sorted.sym[i]),
        );
        for (const a of aggNames) {
          let expected = theirs.getColumn(a).toArray() as (number | null)[];
          // Polars sums an empty window to 0 where min_periods=1 gives null.
          if (a === 'sum') expected = expected.map((v, i) => (count[i] === 0 ? null : v));
          const mine = col(ours, `price_${a}_100ms`);
          close(
            mine.filter((_, i) => comparable[i]),
            expected.map((v) => (v === null ? null : Number(v))).filter((_, i) => comparable[i]),
            `${closed} ${a}`,
          );
        }
      }
    },
  );

  it('ewm_mean on evenly spaced rows equals ewm_mean(alpha, adjust=false) over symbol', () => {
    // Per key the spacing is 30 ms, so alpha = 1 - exp(-ln2 * 30ms / half_life) is constant.
    const n = 300;
    const r: Rows = { tsMs: [], sym: [], price: [] };
    for (let i = 0; i < n; i++) {
      r.tsMs.push(1_700_000_000_000 + i * 10);
      r.sym.push(`S${i % 3}`);
      r.price.push(100 + Math.sin(i) * 5);
    }
    const ours = rolling(table(r), {
      by: 'symbol',
      rows: 1,
      half_life: '45ms',
      aggs: [{ agg: 'ewm_mean', column: 'price', min_periods: 1 }],
    });
    const alpha = 1 - Math.exp((-Math.LN2 * 30) / 45);
    const df = pl.DataFrame({ symbol: r.sym, price: r.price as number[] });
    const theirs = df.select(pl.col('price').ewmMean({ alpha, adjust: false }).over('symbol').alias('e'));
    close(col(ours, 'price_ewm_mean_45ms'), theirs.getColumn('e').toArray() as number[], 'ewm_mean');
  });

  it.each([1, 4])(
    'ewm_var and ewm_std on evenly spaced rows equal ewm_var/ewm_std(alpha, adjust=false, bias=true) over symbol, min_periods=%s',
    (minPeriods) => {
      // nodejs-polars 0.25.2 has no half_life option and no time-aware ewm_var_by; with a constant
      // spacing d per key, a time half-life h is a row half-life h / d: alpha = 1 − 2^(−d / h).
      // Without nulls: a null stretches our Δt (alpha 1 − (1 − alpha)², say), which no Polars
      // ignore_nulls setting reproduces.
      const n = 600;
      const r: Rows = { tsMs: [], sym: [], price: [] };
      for (let i = 0; i < n; i++) {
        r.tsMs.push(1_700_000_000_000 + i * 10);
        r.sym.push(`S${i % 3}`);
        r.price.push(1000 + (i % 3) * 50 + Math.sin(i / 7) * 5 + Math.cos(i * 1.3));
      }
      const ours = rolling(table(r), {
        by: 'symbol',
        period: '1s',
        half_life: '45ms',
        min_periods: minPeriods,
        aggs: [
          { agg: 'ewm_mean', column: 'price' },
          { agg: 'ewm_var', column: 'price' },
          { agg: 'ewm_std', column: 'price' },
        ],
      });
      const alpha = 1 - Math.exp((-Math.LN2 * 30) / 45);
      const ew = { alpha, adjust: false, bias: true, minPeriods, ignoreNulls: true };
      const df = pl.DataFrame({ symbol: r.sym, price: r.price as number[] });
      const theirs = df.select(
        pl.col('price').ewmMean(ew).over('symbol').alias('mean'),
        pl.col('price').ewmVar(ew).over('symbol').alias('var'),
        pl.col('price').ewmStd(ew).over('symbol').alias('std'),
      );
      for (const a of ['mean', 'var', 'std']) {
        const expected = theirs.getColumn(a).toArray() as (number | null)[];
        expect(expected.filter((v) => v === null).length).toBe(3 * (minPeriods - 1));
        close(col(ours, `price_ewm_${a}_45ms`), expected, `ewm_${a}`);
      }
    },
  );

  it.each([undefined, 2])(
    'row windows with nulls, min_periods=%s (rolling_<agg> over symbol)',
    (minPeriods) => {
      const { sorted, df } = polarsFrame(randomRows(21, 400, 4, 0.15, 0.1));
      const n = 5;
      const ours = rolling(table(sorted), {
        by: 'symbol',
        rows: n,
        min_periods: minPeriods,
        aggs: (['sum', 'mean', 'min', 'max', 'std', 'var'] as const).map((agg) => ({ agg, column: 'price' })),
      });
      const fn = {
        sum: 'rollingSum',
        mean: 'rollingMean',
        min: 'rollingMin',
        max: 'rollingMax',
        std: 'rollingStd',
        var: 'rollingVar',
      };
      const theirs = df.select(
        ...Object.entries(fn).map(([a, f]) =>
          (pl.col('price') as any)
            [f]({ windowSize: n, minPeriods: minPeriods ?? n })
            .over('symbol')
            .alias(a),
        ),
      );
      for (const a of Object.keys(fn))
        close(col(ours, `price_${a}_${n}rows`), theirs.getColumn(a).toArray() as (number | null)[], a);
    },
  );
});
