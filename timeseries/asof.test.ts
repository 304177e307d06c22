import { Bool, Float64, Int64, type Table, TimestampMillisecond, Utf8, vectorFromArray } from 'apache-arrow';
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../pipeline/retry.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { AsofConfigError, type AsofJoinOptions, AsofUnsortedError, asofJoin } from './asof.ts';
import { rowsOf } from './asof-testing.ts';

const T0 = 1_767_225_600_000_000;
const S = 1_000_000;

function quotesTable() {
  return tableFromVectors({
    ts: timestampVector(Float64Array.from([0, 1, 2, 2, 5].map((s) => T0 + s * S))),
    symbol: dictionaryVector(Int32Array.from([0, 1, 0, 0, 1]), ['AAA', 'BBB']),
    bid: float64Vector(Float64Array.from([1, 2, 3, 4, 5])),
    venue: vectorFromArray(['q0', 'q1', 'q2', 'q3', 'q4'], new Utf8()),
  });
}

function tradesTable() {
  return tableFromVectors({
    ts: timestampVector(Float64Array.from([1, 2, 3.5, 4, 5].map((s) => T0 + s * S))),
    symbol: dictionaryVector(Int32Array.from([0, 0, 1, 2, 1]), ['AAA', 'BBB', 'CCC']),
    venue: vectorFromArray(['t0', 't1', 't2', 't3', 't4'], new Utf8()),
  });
}

const col = (t: Table, name: string) => Array.from(t.getChild(name)!, (v) => v);

describe('asofJoin: trades and quotes (hand-computed)', () => {
  const opts: AsofJoinOptions = { on: 'ts', by: 'symbol', tolerance: '1s' };
  it('backward by symbol with a 1s tolerance: edge at the tolerance, last duplicate, key on one side', () => {
    const out = asofJoin(tradesTable(), quotesTable(), opts);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'venue', 'bid', 'venue_right']);
    expect(col(out, 'bid')).toEqual([1, 4, null, null, 5]);
    expect(col(out, 'venue_right')).toEqual(['q0', 'q3', null, null, 'q4']);
    expect(col(out, 'symbol')).toEqual(['AAA', 'AAA', 'BBB', 'CCC', 'BBB']);
    expect(out.getChild('bid')!.nullCount).toBe(2);
  });
  it('without exact matches the equal timestamps are skipped', () => {
    const out = asofJoin(tradesTable(), quotesTable(), { ...opts, allow_exact_matches: false });
    expect(col(out, 'bid')).toEqual([1, null, null, null, null]);
  });
  it('forward and nearest', () => {
    expect(col(asofJoin(tradesTable(), quotesTable(), { ...opts, strategy: 'forward' }), 'bid')).toEqual([
      3,
      3,
      null,
      null,
      5,
    ]);
    expect(col(asofJoin(tradesTable(), quotesTable(), { ...opts, strategy: 'nearest' }), 'bid')).toEqual([
      4,
      4,
      null,
      null,
      5,
    ]);
    expect(
      col(asofJoin(tradesTable(), quotesTable(), { on: 'ts', by: 'symbol', strategy: 'nearest' }), 'bid'),
    ).toEqual([4, 4, 5, null, 5]);
  });
  it('a number tolerance is in the unit of the timestamp column', () => {
    const ms = (xs: number[]) => vectorFromArray(xs, new TimestampMillisecond());
    const left = tableFromVectors({ t: ms([100, 200]) });
    const right = tableFromVectors({ t: ms([95, 190]), v: float64Vector(Float64Array.from([1, 2])) });
    expect(col(asofJoin(left, right, { on: 't', tolerance: 5 }), 'v')).toEqual([1, null]);
    expect(col(asofJoin(left, right, { on: 't', tolerance: '10ms' }), 'v')).toEqual([1, 2]);
  });
});

describe('asofJoin: keys, names and columns', () => {
  const left = () =>
    tableFromVectors({
      t: float64Vector(Float64Array.from([1, 2, 3, 4])),
      sym: vectorFromArray(['a', 'a', 'b', 'a'], new Utf8()),
      ven: vectorFromArray(['x', 'y', 'x', 'x'], new Utf8()),
    });
  const right = () =>
    tableFromVectors({
      rt: float64Vector(Float64Array.from([0, 1, 2, 3])),
      s: vectorFromArray(['a', 'a', 'b', 'a'], new Utf8()),
      v: vectorFromArray(['x', 'y', 'x', 'y'], new Utf8()),
      n: vectorFromArray([10n, 11n, 12n, 13n], new Int64()),
      ok: vectorFromArray([true, false, true, false], new Bool()),
    });
  it('matches on several keys named differently on each side; the right on column is kept', () => {
    const out = asofJoin(left(), right(), {
      left_on: 't',
      right_on: 'rt',
      by_left: ['sym', 'ven'],
      by_right: ['s', 'v'],
    });
    expect(out.schema.fields.map((f) => f.name)).toEqual(['t', 'sym', 'ven', 'rt', 'n', 'ok']);
    expect(rowsOf(out)).toEqual([
      { t: 1, sym: 'a', ven: 'x', rt: 0, n: 10, ok: true },
      { t: 2, sym: 'a', ven: 'y', rt: 1, n: 11, ok: false },
      { t: 3, sym: 'b', ven: 'x', rt: 2, n: 12, ok: true },
      { t: 4, sym: 'a', ven: 'x', rt: 0, n: 10, ok: true },
    ]);
  });
  it('coalesce: false keeps the right on column under the suffix', () => {
    const l = tableFromVectors({ t: float64Vector(Float64Array.from([1, 2])) });
    const r = tableFromVectors({
      t: float64Vector(Float64Array.from([1])),
      v: float64Vector(Float64Array.from([7])),
    });
    expect(
      asofJoin(l, r, { on: 't', coalesce: false, suffix: '_q' }).schema.fields.map((f) => f.name),
    ).toEqual(['t', 't_q', 'v']);
    expect(asofJoin(l, r, { on: 't' }).schema.fields.map((f) => f.name)).toEqual(['t', 'v']);
  });
  it('null on values and null keys never match; empty sides', () => {
    const l = tableFromVectors({
      t: float64Vector(Float64Array.from([1, 2, 3]), Uint8Array.from([1, 0, 1])),
      k: vectorFromArray(['a', 'a', null], new Utf8()),
    });
    const r = tableFromVectors({
      t: float64Vector(Float64Array.from([0, 1, 2]), Uint8Array.from([1, 1, 0])),
      k: vectorFromArray(['a', null, 'a'], new Utf8()),
      v: float64Vector(Float64Array.from([1, 2, 3])),
    });
    expect(col(asofJoin(l, r, { on: 't', by: 'k' }), 'v')).toEqual([1, null, null]);
    expect(col(asofJoin(l, r, { on: 't' }), 'v')).toEqual([2, null, 2]);
    expect(asofJoin(l.slice(0, 0), r, { on: 't' }).numRows).toBe(0);
    expect(col(asofJoin(l, r.slice(0, 0), { on: 't', by: 'k' }), 'v')).toEqual([null, null, null]);
  });
  it('gathers from a right table of several record batches', () => {
    const r = right();
    const twoBatches = r.slice(0, 2).concat(r.slice(2));
    expect(twoBatches.batches.length).toBe(2);
    const opts: AsofJoinOptions = { left_on: 't', right_on: 'rt', by_left: 'sym', by_right: 's' };
    expect(rowsOf(asofJoin(left(), twoBatches, opts))).toEqual(rowsOf(asofJoin(left(), r, opts)));
  });
});

describe('asofJoin: chunked inputs with a dictionary per record batch', () => {
  it('matches keys by value and gathers dictionary columns across batches', () => {
    const dict = (codes: number[], values: string[]) => dictionaryVector(Int32Array.from(codes), values);
    const l1 = tableFromVectors({ t: float64Vector(Float64Array.of(1, 2)), k: dict([0, 1], ['a', 'b']) });
    const l2 = tableFromVectors({ t: float64Vector(Float64Array.of(3, 4)), k: dict([1, 0], ['b', 'a']) });
    const r1 = tableFromVectors({
      t: float64Vector(Float64Array.of(0, 1)),
      k: dict([0, 1], ['a', 'b']),
      s: dict([0, 1], ['x', 'y']),
    });
    const r2 = tableFromVectors({
      t: float64Vector(Float64Array.of(2.5, 3.5)),
      k: dict([0, 1], ['b', 'a']),
      s: dict([0, 1], ['z', 'w']),
    });
    const out = asofJoin(l1.concat(l2), r1.concat(r2), { on: 't', by: 'k' });
    expect(rowsOf(out)).toEqual([
      { t: 1, k: 'a', s: 'x' },
      { t: 2, k: 'b', s: 'y' },
      { t: 3, k: 'a', s: 'x' },
      { t: 4, k: 'b', s: 'z' },
    ]);
  });
});

describe('asofJoin: errors', () => {
  const t = (xs: number[], keys?: string[]) =>
    tableFromVectors({
      ts: float64Vector(Float64Array.from(xs)),
      ...(keys ? { sym: vectorFromArray(keys, new Utf8()) } : {}),
      v: float64Vector(Float64Array.from(xs)),
    });
  it('names the side and the column of unsorted input', () => {
    expect(() => asofJoin(t([1, 2]), t([1, 3, 2]), { on: 'ts' })).toThrow(
      'asof_join: right column "ts" is not sorted: row 2 comes after row 1 but has a smaller value; sort the right input by "ts"',
    );
    expect(() => asofJoin(t([2, 1]), t([1]), { on: 'ts' })).toThrow(/left column "ts" is not sorted: row 1/);
  });
  it('names the group of unsorted input with by, and accepts input sorted per group only', () => {
    const err = (() => {
      try {
        asofJoin(t([1], ['a']), t([5, 1, 4, 2], ['a', 'b', 'b', 'a']), { on: 'ts', by: 'sym' });
      } catch (e) {
        return e;
      }
    })() as AsofUnsortedError;
    expect(err).toBeInstanceOf(AsofUnsortedError);
    expect(err.code).toBe('ASOF_UNSORTED');
    expect(err.message).toBe(
      'asof_join: right column "ts" is not sorted within by group sym=a: row 3 comes after row 0 but has a smaller value; sort the right input by "ts" within each by group',
    );
    expect(() =>
      asofJoin(t([3, 1], ['a', 'b']), t([5, 1], ['a', 'b']), { on: 'ts', by: 'sym' }),
    ).not.toThrow();
    expect(() => asofJoin(t([3, 4, 1], ['b', 'a', 'b']), t([1], ['a']), { on: 'ts', by: 'sym' })).toThrow(
      /left column "ts" is not sorted within by group sym=b: row 2 comes after row 0/,
    );
  });
  it('reports configuration problems', () => {
    const cases: [AsofJoinOptions, RegExp][] = [
      [{ on: 'nope' }, /left column "nope" not found; left columns are: ts, v/],
      [{ on: 'ts', by: 'sym' }, /left by column "sym" not found/],
      [{ on: 'ts', by_left: ['v'], by_right: [] }, /by_left has 1 column\(s\) and by_right 0/],
      [{ on: 'ts', tolerance: '1s' }, /tolerance "1s" is a duration but the on column is Float64/],
      [{ on: 'ts', tolerance: -1 }, /tolerance must be >= 0/],
      [{ on: 'ts', strategy: 'sideways' as never }, /strategy "sideways" is not one of/],
      [{}, /give `on`, or both `left_on` and `right_on`/],
      [{ on: 'ts', suffix: '' }, /output column "v" would appear twice/],
    ];
    for (const [o, re] of cases) {
      const e = (() => {
        try {
          asofJoin(t([1]), t([1]), o);
        } catch (x) {
          return x;
        }
      })() as AsofConfigError;
      expect(e, JSON.stringify(o)).toBeInstanceOf(AsofConfigError);
      expect(e.message).toMatch(re);
      expect([e.code, e.retriable]).toEqual(['ASOF_CONFIG', false]);
    }
  });
});

describe('asofJoin: cross-check against nodejs-polars joinAsof', () => {
  it('agrees on seeded random data (by, tolerance, strategies, exact matches)', () => {
    const rnd = seededRandom(42);
    const syms = ['a', 'b', 'c'];
    for (let iter = 0; iter < 60; iter++) {
      const gen = (n: number, nk: number) => {
        const t: number[] = [];
        const g: string[] = [];
        let x = Math.floor(rnd() * 4);
        for (let i = 0; i < n; i++) {
          x += Math.floor(rnd() * 3);
          t.push(x);
          g.push(syms[Math.floor(rnd() * nk)]);
        }
        return { t, g };
      };
      const L = gen(Math.floor(rnd() * 30), 2);
      const R = gen(Math.floor(rnd() * 30), 3);
      const rv = R.t.map((_, i) => i * 1.5);
      const strategy = (['backward', 'forward', 'nearest'] as const)[iter % 3];
      const allow = rnd() < 0.5;
      const tol = rnd() < 0.4 ? undefined : Math.floor(rnd() * 4);
      const by = rnd() < 0.7 ? 'g' : undefined;
      const ours = asofJoin(
        tableFromVectors({ t: float64Vector(Float64Array.from(L.t)), g: vectorFromArray(L.g, new Utf8()) }),
        tableFromVectors({
          t: float64Vector(Float64Array.from(R.t)),
          g: vectorFromArray(R.g, new Utf8()),
          v: float64Vector(Float64Array.from(rv)),
        }),
        { on: 't', by, strategy, allow_exact_matches: allow, tolerance: tol },
      );
      const schemaL = { t: pl.Float64, g: pl.Utf8 };
      const peer = pl
        .DataFrame({ t: L.t, g: L.g }, { schema: schemaL } as any)
        .joinAsof(pl.DataFrame({ t: R.t, g: R.g, v: rv }, { schema: { ...schemaL, v: pl.Float64 } } as any), {
          on: 't',
          strategy,
          allowExactMatches: allow,
          ...(by ? { by } : {}),
          ...(tol === undefined ? {} : { tolerance: tol }),
        });
      expect(ours.schema.fields.map((f) => f.name)).toEqual(peer.columns);
      expect(rowsOf(ours), JSON.stringify({ L, R, strategy, allow, tol, by })).toEqual(peer.toRecords());
    }
  });
  it('agrees on timestamps with a duration tolerance', () => {
    const ts = [0, 500, 1500, 1500, 4000].map((ms) => T0 + ms * 1000);
    const qs = [0, 1000, 1500, 3500].map((ms) => T0 + ms * 1000);
    const ours = asofJoin(
      tableFromVectors({ ts: timestampVector(Float64Array.from(ts)) }),
      tableFromVectors({
        ts: timestampVector(Float64Array.from(qs)),
        bid: float64Vector(Float64Array.from([1, 2, 3, 4])),
      }),
      { on: 'ts', tolerance: '600ms', strategy: 'nearest' },
    );
    const us = (xs: number[]) => pl.Series('ts', xs, pl.Int64).cast(pl.Datetime('us'));
    const peer = pl
      .DataFrame([us(ts)])
      .joinAsof(pl.DataFrame([us(qs), pl.Series('bid', [1, 2, 3, 4], pl.Float64)]), {
        on: 'ts',
        tolerance: '600ms',
        strategy: 'nearest',
      });
    expect(col(ours, 'bid')).toEqual(peer.getColumn('bid').toArray());
    expect(col(ours, 'bid')).toEqual([1, 2, 3, 3, 4]);
    expect(String(ours.schema.fields[0].type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(String(ours.schema.fields[1].type)).toBe(String(new Float64()));
  });
});
