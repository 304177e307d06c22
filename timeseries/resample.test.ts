import { makeData, makeVector, Table } from 'apache-arrow';
import fc from 'fast-check';
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { type ResampleOptions, resampleOhlcv } from './resample.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;
const S = 1e6;

/** Trades as a table; a `sym` of null is a null key, a missing one is 'A'. */
function trades(
  rows: { t: number; sym?: string | null; p: number; s: number }[],
  symbols = ['A', 'B', 'C'],
): Table {
  const codes = new Int32Array(rows.map((r) => Math.max(0, symbols.indexOf(r.sym ?? 'A'))));
  const valid = new Uint8Array(rows.map((r) => (r.sym === null ? 0 : 1)));
  const symbol = dictionaryVector(codes, symbols, 7, valid);
  return tableFromVectors({
    ts: timestampVector(new Float64Array(rows.map((r) => r.t))),
    symbol,
    price: float64Vector(new Float64Array(rows.map((r) => r.p))),
    size: float64Vector(new Float64Array(rows.map((r) => r.s))),
  });
}

const plain = (t: Table) =>
  t.toArray().map((r) => {
    const o = { ...r.toJSON() } as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'bigint') o[k] = Number(v);
    return o;
  });

describe('resampleOhlcv (batch operator)', () => {
  const rows = [
    { t: T0 + 1 * S, sym: 'B', p: 10, s: 1 },
    { t: T0 + 2 * S, sym: 'A', p: 20, s: 2 },
    { t: T0 + 30 * S, sym: 'B', p: 12, s: 1 },
    { t: T0 + 61 * S, sym: 'A', p: 22, s: 2 },
  ];

  it('returns by, time, open, high, low, close, volume, vwap, trades ordered by key then time', () => {
    const out = resampleOhlcv(trades(rows), { every: '1m', by: 'symbol' });
    expect(out.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'symbol:Dictionary<Int32, Utf8>',
      'ts:Timestamp<MICROSECOND, UTC>',
      'open:Float64',
      'high:Float64',
      'low:Float64',
      'close:Float64',
      'volume:Float64',
      'vwap:Float64',
      'trades:Int64',
    ]);
    expect(plain(out)).toEqual([
      { symbol: 'A', ts: T0 / 1000, open: 20, high: 20, low: 20, close: 20, volume: 2, vwap: 20, trades: 1 },
      {
        symbol: 'A',
        ts: T0 / 1000 + 60_000,
        open: 22,
        high: 22,
        low: 22,
        close: 22,
        volume: 2,
        vwap: 22,
        trades: 1,
      },
      { symbol: 'B', ts: T0 / 1000, open: 10, high: 12, low: 10, close: 12, volume: 2, vwap: 11, trades: 2 },
    ]);
  });

  it('offers time-then-key order, right labels, boundaries and first/last event times', () => {
    const out = resampleOhlcv(trades(rows), {
      every: '1m',
      by: 'symbol',
      order: 'time_key',
      label: 'right',
      includeBoundaries: true,
      includeFirstLastTs: true,
    });
    expect(
      plain(out).map((r) => [r.symbol, r.ts, r._lower_boundary, r._upper_boundary, r.first_ts, r.last_ts]),
    ).toEqual([
      ['A', T0 / 1000 + 60_000, T0 / 1000, T0 / 1000 + 60_000, T0 / 1000 + 2000, T0 / 1000 + 2000],
      ['B', T0 / 1000 + 60_000, T0 / 1000, T0 / 1000 + 60_000, T0 / 1000 + 1000, T0 / 1000 + 30_000],
      [
        'A',
        T0 / 1000 + 120_000,
        T0 / 1000 + 60_000,
        T0 / 1000 + 120_000,
        T0 / 1000 + 61_000,
        T0 / 1000 + 61_000,
      ],
    ]);
  });

  it('groups by several key columns and plain utf8 keys', () => {
    const t = tableFromVectors({
      ts: timestampVector(new Float64Array([T0, T0 + S, T0 + 2 * S, T0 + 3 * S])),
      venue: dictionaryVector(new Int32Array([0, 1, 0, 0]), ['X', 'Y']),
      symbol: dictionaryVector(new Int32Array([0, 0, 1, 0]), ['A', 'B']),
      price: float64Vector(new Float64Array([1, 2, 3, 4])),
      size: float64Vector(new Float64Array([1, 1, 1, 1])),
    });
    expect(
      plain(resampleOhlcv(t, { every: '1m', by: ['venue', 'symbol'] })).map((r) => [
        r.venue,
        r.symbol,
        r.trades,
      ]),
    ).toEqual([
      ['X', 'A', 2],
      ['Y', 'A', 1],
      ['X', 'B', 1],
    ]);
  });

  it('names the time column when a key is not sorted, and refuses null times', () => {
    const bad = trades([
      { t: T0 + 5 * S, sym: 'A', p: 1, s: 1 },
      { t: T0 + 9 * S, sym: 'B', p: 1, s: 1 },
      { t: T0 + 4 * S, sym: 'A', p: 1, s: 1 },
    ]);
    expect(() => resampleOhlcv(bad, { every: '1m', by: 'symbol' })).toThrow(
      /column "ts" is not sorted ascending within key symbol=A: row 2/,
    );
    expect(() => resampleOhlcv(bad, { every: '1m' })).toThrow(/column "ts" is not sorted ascending: row 2/);
    const nullTs = tableFromVectors({
      ts: timestampVector(new Float64Array([T0, 0]), new Uint8Array([1, 0])),
      price: float64Vector(new Float64Array([1, 2])),
      size: float64Vector(new Float64Array([1, 2])),
    });
    expect(() => resampleOhlcv(nullTs, { every: '1m' })).toThrow(/column "ts" has 1 null timestamps/);
    expect(() => resampleOhlcv(bad, { every: '1m', price: 'px' })).toThrow(/column "px" not found/);
  });

  it('gives the same bars for a table of several record batches, and numbers rows across them', () => {
    const whole = trades(rows);
    const split = new Table([trades(rows.slice(0, 2)).batches[0], trades(rows.slice(2)).batches[0]]);
    expect(split.batches).toHaveLength(2);
    expect(plain(resampleOhlcv(split, { every: '1m', by: 'symbol' }))).toEqual(
      plain(resampleOhlcv(whole, { every: '1m', by: 'symbol' })),
    );
    const bad = new Table([
      trades([{ t: T0 + 5 * S, sym: 'A', p: 1, s: 1 }]).batches[0],
      trades([{ t: T0 + 4 * S, sym: 'A', p: 1, s: 1 }]).batches[0],
    ]);
    expect(() => resampleOhlcv(bad, { every: '1m' })).toThrow(/row 1 is at/);
  });

  it('groups rows with a null key under a null key, after the dictionary keys', () => {
    const t = tableFromVectors({
      ts: timestampVector(new Float64Array([T0, T0 + S, T0 + 2 * S])),
      symbol: dictionaryVector(new Int32Array([0, 0, 1]), ['A', 'B']),
      price: float64Vector(new Float64Array([1, 2, 3])),
      size: float64Vector(new Float64Array([1, 1, 1])),
    });
    const sym = t.getChild('symbol')!.data[0];
    const masked = makeData({
      type: sym.type,
      length: 3,
      data: sym.values,
      nullBitmap: new Uint8Array([0b101]),
      nullCount: 1,
      dictionary: sym.dictionary,
    });
    const withNull = tableFromVectors({
      ts: t.getChild('ts')!,
      symbol: makeVector(masked),
      price: t.getChild('price')!,
      size: t.getChild('size')!,
    });
    const out = resampleOhlcv(withNull, { every: '1m', by: 'symbol' });
    expect(plain(out).map((r) => [r.symbol, r.open, r.trades])).toEqual([
      ['A', 1, 1],
      ['B', 3, 1],
      [null, 2, 1],
    ]);
    expect(out.getChild('symbol')!.nullCount).toBe(1);
    // Two key columns: a null in either makes its own composite key.
    const two = tableFromVectors({
      ts: withNull.getChild('ts')!,
      symbol: withNull.getChild('symbol')!,
      venue: makeVector(masked),
      price: withNull.getChild('price')!,
      size: withNull.getChild('size')!,
    });
    expect(
      plain(resampleOhlcv(two, { every: '1m', by: ['symbol', 'venue'] })).map((r) => [
        r.symbol,
        r.venue,
        r.open,
      ]),
    ).toEqual([
      ['A', 'A', 1],
      [null, null, 2],
      ['B', 'B', 3],
    ]);
  });

  it('returns an empty table with the bar schema for empty input', () => {
    const out = resampleOhlcv(trades([]), { every: '1m', by: 'symbol' });
    expect(out.numRows).toBe(0);
    expect(out.schema.fields.map((f) => f.name)).toContain('vwap');
  });
});

/** Deterministic trades: increasing times (some equal), integer sizes so sums are exact. */
function randomTrades(
  seed: number,
  n: number,
  nullKeys = false,
): { t: number; sym: string | null; p: number; s: number }[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const out = [];
  let t = T0 + Math.floor(rnd() * 600) * S;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    t += r < 0.15 ? 0 : r < 0.9 ? Math.floor(rnd() * 40) * S : Math.floor(rnd() * 400) * S;
    out.push({
      t,
      sym: nullKeys && rnd() < 0.1 ? null : ['A', 'B', 'C'][Math.floor(rnd() * 3)],
      p: 100 + Math.floor(rnd() * 50) / 4,
      s: 1 + Math.floor(rnd() * 9),
    });
  }
  return out;
}

function polarsBars(rows: ReturnType<typeof randomTrades>, o: ResampleOptions, by: boolean) {
  const df = pl.DataFrame({
    ts: pl
      .Series(
        'ts',
        rows.map((r) => r.t / 1000),
      )
      .cast(pl.Datetime('ms')),
    symbol: rows.map((r) => r.sym),
    price: rows.map((r) => r.p),
    size: rows.map((r) => r.s),
  });
  const out = df
    .groupByDynamic({
      indexColumn: 'ts',
      every: o.every,
      period: o.period,
      offset: o.offset,
      closed: o.closed,
      label: o.label,
      by: by ? 'symbol' : undefined,
    } as any)
    .agg(
      pl.col('price').first().alias('open'),
      pl.col('price').max().alias('high'),
      pl.col('price').min().alias('low'),
      pl.col('price').last().alias('close'),
      pl.col('size').sum().alias('volume'),
      pl.len().alias('trades'),
    );
  return out
    .toRecords()
    .map((r: any) => [
      by ? r.symbol : '',
      (r.ts as Date).getTime(),
      r.open,
      r.high,
      r.low,
      r.close,
      r.volume,
      Number(r.trades),
    ]);
}

const sortRows = (rows: unknown[][]) =>
  [...rows].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || (a[1] as number) - (b[1] as number));

describe('resampleOhlcv matches nodejs-polars group_by_dynamic', () => {
  it('on seeded random trades for every/period/offset/closed/label/by combinations, null keys included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom('30s', '1m', '2m', '5m'),
        fc.constantFrom(undefined, '45s', '3m', '7m'),
        fc.constantFrom(undefined, '10s', '-20s', '1m'),
        fc.constantFrom('left', 'right', 'both', 'none'),
        fc.constantFrom('left', 'right'),
        fc.boolean(),
        fc.boolean(),
        (seed, every, period, offset, closed, label, by, nullKeys) => {
          const rows = randomTrades(seed, 120, nullKeys);
          const o: ResampleOptions = { every, period, offset, closed: closed as any, label: label as any };
          const ours = plain(resampleOhlcv(trades(rows), { ...o, by: by ? 'symbol' : undefined })).map(
            (r) => [by ? r.symbol : '', r.ts, r.open, r.high, r.low, r.close, r.volume, r.trades],
          );
          expect(sortRows(ours)).toEqual(sortRows(polarsBars(rows, o, by)));
        },
      ),
      { seed: 20241125, numRuns: 60 },
    );
  });
});
