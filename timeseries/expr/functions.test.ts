import { type RecordBatch, Utf8, vectorFromArray } from 'apache-arrow';
import fc from 'fast-check';
import pl from 'nodejs-polars';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dictionaryVector, float64Vector, recordBatchFromVectors, timestampVector } from '../arrow.ts';
import { errorOf } from '../operator-testing.ts';
import { colToVector, compileExpression } from './compile.ts';
import { civilFromDays, TIME_FIELDS, type TimeField } from './datetime.ts';
import { ExprError } from './parse.ts';

/** µs of an ISO instant, plus `us`. */
const at = (iso: string, us = 0) => Date.parse(iso) * 1000 + us;

/** A batch of timestamps (null where null), a number column and the string columns below. */
function timeBatch(ts: (number | null)[]): RecordBatch {
  return recordBatchFromVectors({
    ts: timestampVector(
      Float64Array.from(ts, (t) => t ?? 0),
      Uint8Array.from(ts, (t) => (t === null ? 0 : 1)),
    ),
    price: float64Vector(Float64Array.from(ts, () => 1)),
  });
}

/** Values of an evaluated expression, null where null (timestamps as raw µs, not Dates). */
function values(text: string, b: RecordBatch): unknown[] {
  const col = compileExpression(text, b.schema).evaluate(b);
  if (col.t === 'num' || col.t === 'ts')
    return Array.from(col.v, (v, i) => (col.valid !== null && !col.valid[i] ? null : v));
  return Array.from(colToVector(col, b.numRows));
}

function compileError(text: string, b: RecordBatch): ExprError {
  const e = errorOf(() => compileExpression(text, b.schema));
  expect(e).toBeInstanceOf(ExprError);
  return e as ExprError;
}

describe('time functions: golden values', () => {
  const B = timeBatch([
    0,
    -1, // 1969-12-31T23:59:59.999999, a Wednesday
    at('2000-03-01T00:00:00Z', -1), // leap day of a leap century: 2000-02-29T23:59:59.999999, Tuesday
    at('1900-03-01T00:00:00Z', -1), // 1900 is not leap: 1900-02-28T23:59:59.999999, Wednesday
    at('2024-02-29T12:00:00Z'), // leap day, Thursday
    at('2023-05-01T00:00:00Z', -1), // month end: 2023-04-30T23:59:59.999999, Sunday
    at('2024-12-31T23:59:59.5Z'), // year end, Tuesday
    at('1960-06-15T07:08:09.25Z'), // before 1970, Wednesday
    null,
  ]);

  it.each([
    ['year(ts)', [1970, 1969, 2000, 1900, 2024, 2023, 2024, 1960, null]],
    ['month(ts)', [1, 12, 2, 2, 2, 4, 12, 6, null]],
    ['day(ts)', [1, 31, 29, 28, 29, 30, 31, 15, null]],
    ['hour(ts)', [0, 23, 23, 23, 12, 23, 23, 7, null]],
    ['minute(ts)', [0, 59, 59, 59, 0, 59, 59, 8, null]],
    ['second(ts)', [0, 59, 59, 59, 0, 59, 59, 9, null]],
    ['weekday(ts)', [4, 3, 2, 3, 4, 7, 2, 3, null]],
    [
      "YEAR(ts, 'UTC') * 100 + month(ts, 'Etc/UTC')",
      [197001, 196912, 200002, 190002, 202402, 202304, 202412, 196006, null],
    ],
    ['year(ts + 1)', [1970, 1970, 2000, 1900, 2024, 2023, 2024, 1960, null]],
    ['day(ts + 1)', [1, 1, 1, 1, 29, 1, 31, 15, null]],
    ['month(null)', [null, null, null, null, null, null, null, null, null]],
    // A NaN timestamp (from NaN arithmetic) has NaN fields, not null ones.
    ['hour(ts + 0 / 0) + weekday(ts + 0 / 0)', [...Array(8).fill(Number.NaN), null]],
  ])('%s', (text, expected) => {
    expect(values(text, B)).toEqual(expected);
  });

  const MIN = 60e6;
  const DAY = 86_400e6;
  it.each([
    // Negative µs truncate down (floor), not toward zero.
    ["truncate(ts, '1m')", [0, -MIN, -2 * MIN, -MIN]],
    ["truncate(ts, '1s')", [0, -1e6, -61e6, -60e6]],
    ["truncate(ts, '1d')", [0, -DAY, -DAY, -DAY]],
    ["truncate(ts, '250ms')", [0, -250e3, -MIN - 250e3, -MIN]],
    ["truncate(ts, '1d12h')", [0, -1.5 * DAY, -1.5 * DAY, -1.5 * DAY]],
    // Whole weeks start on Monday (1969-12-22, 1969-12-29, 1970-01-05), as Polars; 7d is epoch-aligned.
    ["truncate(ts, '1w')", [-3 * DAY, -3 * DAY, -3 * DAY, -3 * DAY]],
    ["truncate(ts, '2w')", [-10 * DAY, -10 * DAY, -10 * DAY, -10 * DAY]],
    ["truncate(ts, '7d')", [0, -7 * DAY, -7 * DAY, -7 * DAY]],
    ["truncate(ts + 7 * 86400000000, '1w')", [4 * DAY, 4 * DAY, 4 * DAY, 4 * DAY]],
    ["truncate(null, '1h')", [null, null, null, null]],
  ])('%s', (text, expected) => {
    // 0, -1 µs, -1 min - 1 µs, -1 min + 1 µs, and a null row
    const b = timeBatch([0, -1, -MIN - 1, -MIN + 1, null]);
    expect(values(text, b)).toEqual([...expected, null]);
  });

  it('truncate gives timestamps; the fields give numbers', () => {
    const b = timeBatch([at('2024-01-02T14:37:12.5Z')]);
    const c = compileExpression("truncate(ts, '15m')", b.schema);
    expect(c.type).toBe('ts');
    expect(String(c.vector(b).type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(values("truncate(ts, '15m') == '2024-01-02T14:30:00Z'", b)).toEqual([true]);
    expect(compileExpression('weekday(ts)', b.schema).type).toBe('num');
    expect(String(compileExpression('hour(ts)', b.schema).vector(b).type)).toBe('Float64');
  });

  it('read local time in a time zone, across DST transitions and half-hour offsets', () => {
    const b = timeBatch([
      at('2024-03-10T06:59:59Z'), // New York: 01:59:59 EST; then 03:00:00 EDT
      at('2024-03-10T07:00:00Z'),
      at('2024-04-06T16:29:59Z'), // Adelaide, transition on the half hour: 02:59:59 ACDT
      at('2024-04-06T16:30:00Z'), // 02:00:00 ACST
      at('2024-01-01T18:29:59Z'), // Kolkata +05:30: 23:59:59 on Monday the 1st
      at('2024-01-01T18:30:00Z'), // 00:00 on Tuesday the 2nd
      null,
    ]);
    expect(values("hour(ts, 'America/New_York')", b)).toEqual([1, 3, 12, 12, 13, 13, null]);
    expect(values("hour(ts, 'Australia/Adelaide') * 100 + minute(ts, 'Australia/Adelaide')", b)).toEqual([
      1729,
      1730,
      259,
      200,
      459,
      500,
      null,
    ]);
    expect(values("day(ts, 'Asia/Kolkata') * 10 + weekday(ts, 'Asia/Kolkata')", b)).toEqual([
      107,
      107,
      66,
      66,
      11,
      22,
      null,
    ]);
  });

  it('civilFromDays matches Date on every day of 1600 to 2400', () => {
    for (let days = -135_140; days <= 157_054; days++) {
      const d = new Date(days * 86_400_000);
      const got = [civilFromDays(days, 0), civilFromDays(days, 1), civilFromDays(days, 2)];
      if (got[0] !== d.getUTCFullYear() || got[1] !== d.getUTCMonth() + 1 || got[2] !== d.getUTCDate())
        expect([days, ...got]).toEqual([days, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
    }
  });
});

const WORDS = ['btc-USD', 'ETH', 'btc-USD', 'Ωmega😀', '', 'ÉCOLE.x'];
/** sym: a dictionary column with a repeated entry (0 and 2); name: a Utf8 column. */
function stringBatch(): RecordBatch {
  return recordBatchFromVectors({
    sym: dictionaryVector(
      Int32Array.from([0, 1, 2, 3, 4, 5, 0, 3, 1]),
      WORDS,
      -1,
      Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0]),
    ),
    name: vectorFromArray(
      ['Straße', 'İstanbul', 'ΟΔΟΣ', '😀 smile', null, 'a.b', 'x', 'Ωmega😀', 'e'],
      new Utf8(),
    ),
    price: float64Vector(Float64Array.from({ length: 9 }, (_, i) => i)),
  });
}

describe('string functions: golden values', () => {
  const S = stringBatch();

  it.each([
    ['lower(sym)', ['btc-usd', 'eth', 'btc-usd', 'ωmega😀', '', 'école.x', 'btc-usd', 'ωmega😀', null]],
    ['upper(sym)', ['BTC-USD', 'ETH', 'BTC-USD', 'ΩMEGA😀', '', 'ÉCOLE.X', 'BTC-USD', 'ΩMEGA😀', null]],
    // Full Unicode case mappings: ß → SS, İ → i + combining dot, final sigma.
    ['upper(name)', ['STRASSE', 'İSTANBUL', 'ΟΔΟΣ', '😀 SMILE', null, 'A.B', 'X', 'ΩMEGA😀', 'E']],
    ['lower(name)', ['straße', 'i\u0307stanbul', 'οδο\u03c2', '😀 smile', null, 'a.b', 'x', 'ωmega😀', 'e']],
    // Code points: an emoji (two UTF-16 units) counts one; İ lowered is two code points.
    ['len(sym)', [7, 3, 7, 6, 0, 7, 7, 6, null]],
    ['len(name)', [6, 8, 4, 7, null, 3, 1, 6, 1]],
    ['len(lower(name))', [6, 9, 4, 7, null, 3, 1, 6, 1]],
    ["starts_with(sym, 'btc')", [true, false, true, false, false, false, true, false, null]],
    ["starts_with(sym, '')", [true, true, true, true, true, true, true, true, null]],
    ["ends_with(sym, '😀')", [false, false, false, true, false, false, false, true, null]],
    ["ends_with(name, 'e')", [true, false, false, true, null, false, false, false, true]],
    // A literal substring, not a regex: '.' is a dot.
    ["contains(name, '.')", [false, false, false, false, null, true, false, false, false]],
    ["contains(upper(sym), 'USD')", [true, false, true, false, false, false, true, false, null]],
    ["contains(lower(name), 'ß')", [true, false, false, false, null, false, false, false, false]],
    ['lower(null)', [null, null, null, null, null, null, null, null, null]],
    ["contains(null, 'x')", [null, null, null, null, null, null, null, null, null]],
    // Mapped dictionaries (two entries may become one string) work with the other operators.
    ["upper(sym) == 'BTC-USD'", [true, false, true, false, false, false, true, false, null]],
    ["lower(sym) in ['eth', 'ωmega😀']", [false, true, false, true, false, false, false, true, null]],
    ['lower(sym) == lower(name)', [false, false, false, false, null, false, false, true, null]],
    [
      'coalesce(lower(sym), upper(name))',
      ['btc-usd', 'eth', 'btc-usd', 'ωmega😀', '', 'école.x', 'btc-usd', 'ωmega😀', 'E'],
    ],
    [
      "if(starts_with(sym, 'btc'), upper(sym), name)",
      ['BTC-USD', 'İstanbul', 'BTC-USD', '😀 smile', null, 'a.b', 'BTC-USD', 'Ωmega😀', 'e'],
    ],
  ])('%s', (text, expected) => {
    expect(values(text, S)).toEqual(expected);
  });

  it('computed strings come out as Utf8', () => {
    expect(String(compileExpression('lower(sym)', S.schema).vector(S).type)).toBe('Utf8');
    expect(compileExpression("contains(sym, 'x')", S.schema).type).toBe('bool');
    expect(Array.from(compileExpression("starts_with(sym, 'btc')", S.schema).mask(S))).toEqual([
      1, 0, 1, 0, 0, 0, 1, 0, 0,
    ]);
  });

  describe('run once per dictionary entry, not per row nor per batch', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });
    const n = 10_000;
    const big = recordBatchFromVectors({
      sym: dictionaryVector(
        Int32Array.from({ length: n }, (_, i) => i % 3),
        ['BTC', 'ETH', 'SOL'],
      ),
    });

    it.each([
      ['lower(sym)', 'toLowerCase'],
      ['upper(sym)', 'toUpperCase'],
      ["starts_with(sym, 'B')", 'startsWith'],
      ["ends_with(sym, 'C')", 'endsWith'],
      ["contains(sym, 'T')", 'includes'],
    ] as const)('%s', (text, method) => {
      const c = compileExpression(text, big.schema);
      const spy = vi.spyOn(String.prototype, method);
      c.evaluate(big);
      expect(spy.mock.calls.length).toBe(3);
      // Later batches over the same Arrow dictionary (a stream's, until it grows) reuse the work.
      c.evaluate(big.slice(0, 500));
      c.evaluate(big.slice(500));
      expect(spy.mock.calls.length).toBe(3);
      // A grown dictionary is a new object: its entries are mapped again.
      const grown = recordBatchFromVectors({
        sym: dictionaryVector(Int32Array.from([3, 0]), ['BTC', 'ETH', 'SOL', 'XRP']),
      });
      c.evaluate(grown);
      expect(spy.mock.calls.length).toBe(7);
    });
  });
});

describe('time and string functions: errors', () => {
  const T = recordBatchFromVectors({
    ts: timestampVector(Float64Array.from([0])),
    sym: dictionaryVector(Int32Array.from([0]), ['BTC']),
    price: float64Vector(Float64Array.from([1])),
  });

  it.each([
    ['year()', 0, /year takes 1 or 2 arguments, got 0/],
    ["hour(ts, 'UTC', 1)", 0, /hour takes 1 or 2 arguments, got 3/],
    ['truncate(ts)', 0, /truncate takes 2 arguments, got 1/],
    ["lower(sym, 'x')", 0, /lower takes 1 argument, got 2/],
    ['contains(sym)', 0, /contains takes 2 arguments, got 1/],
    ['year(price)', 0, /year needs a timestamp, got a number/],
    ['weekday(sym)', 0, /weekday needs a timestamp, got a string/],
    ["truncate(price, '1m')", 0, /truncate needs a timestamp, got a number/],
    ['lower(price)', 0, /lower needs a string, got a number/],
    ['len(ts)', 0, /len needs a string, got a timestamp/],
    ["starts_with(ts, 'a')", 0, /starts_with needs a string, got a timestamp/],
    [
      'starts_with(sym, sym)',
      17,
      /argument 2 of starts_with must be a string literal such as 'BTC' in single quotes/,
    ],
    ["ends_with(sym, lower('X'))", 15, /argument 2 of ends_with must be a string literal/],
    ['contains(sym, null)', 14, /argument 2 of contains must be a string literal/],
    ['truncate(ts, 60)', 13, /argument 2 of truncate must be a duration such as '1m' in single quotes/],
    ["truncate(ts, 'soon')", 13, /argument 2 of truncate: "soon" is not a duration/],
    ["truncate(ts, '1mo')", 13, /"1mo" has months, quarters or years, which have no fixed length/],
    ["truncate(ts, '1y')", 13, /"1y" has months/],
    ["truncate(ts, '1w1d')", 13, /"1w1d" mixes weeks with other units/],
    ["truncate(ts, '0s')", 13, /"0s" must be longer than zero/],
    ["hour(ts, 'Mars/Olympus')", 9, /argument 2 of hour: "Mars\/Olympus" is not an IANA time zone/],
    ['minute(ts, 5)', 11, /argument 2 of minute must be a time zone such as 'America\/New_York'/],
  ])('%s', (text, pos, re) => {
    const e = compileError(text, T);
    expect([e.code, e.position]).toEqual(['POLAROID_EXPR_TYPE', pos]);
    expect(e.detail).toMatch(re);
  });

  it('lists the new functions among the known ones', () => {
    const e = compileError('second_of(ts)', T);
    expect(e.code).toBe('POLAROID_EXPR_SYNTAX');
    expect(e.detail).toMatch(
      /, year, month, day, hour, minute, second, weekday, truncate, lower, upper, len, /,
    );
  });
});

/** Timestamps over the whole exact range (|µs| < 2^53: 1685 to 2255), many near day edges. */
const timestamp = fc.oneof(
  fc.integer({ min: -(2 ** 53) + 2 ** 42, max: 2 ** 53 - 2 ** 42 }),
  fc.integer({ min: -5e9, max: 5e9 }),
  fc
    .tuple(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: -3, max: 3 }))
    .map(([d, us]) => d * 86_400e6 + us),
);

/** The Date of the millisecond holding t (µs), floored exactly (t / 1000 rounds near 2^53). */
const dateOf = (t: number) => new Date((t - (((t % 1000) + 1000) % 1000)) / 1000);

/** The same fields through a JS Date in UTC. */
function dateField(f: TimeField, t: number): number {
  const d = dateOf(t);
  switch (f) {
    case 'year':
      return d.getUTCFullYear();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'day':
      return d.getUTCDate();
    case 'hour':
      return d.getUTCHours();
    case 'minute':
      return d.getUTCMinutes();
    case 'second':
      return d.getUTCSeconds();
    default:
      return d.getUTCDay() || 7;
  }
}

/** The start of the bucket in exact integers: floor((t - anchor) / every) · every + anchor. */
function bigFloor(t: number, every: bigint, anchor = 0n): number {
  const x = BigInt(t) - anchor;
  const r = ((x % every) + every) % every;
  return Number(x - r + anchor);
}

const DAY_N = 86_400_000_000n;
const DURATIONS: [string, bigint, bigint][] = [
  ['1us', 1n, 0n],
  ['7ms', 7000n, 0n],
  ['90s', 90_000_000n, 0n],
  ['7m', 420_000_000n, 0n],
  ['3h', 10_800_000_000n, 0n],
  ['1d', DAY_N, 0n],
  ['3d', 3n * DAY_N, 0n],
  ['1d12h', DAY_N + DAY_N / 2n, 0n],
  ['1w', 7n * DAY_N, 4n * DAY_N],
  ['2w', 14n * DAY_N, 4n * DAY_N],
];

describe('time functions against a JavaScript Date reference', () => {
  it.each(TIME_FIELDS)('%s', (f) => {
    fc.assert(
      fc.property(fc.array(timestamp, { minLength: 1, maxLength: 40 }), (ts) => {
        expect(values(`${f}(ts)`, timeBatch(ts))).toEqual(ts.map((t) => dateField(f, t)));
      }),
      { numRuns: 200 },
    );
  });

  it('truncate to a second, minute, hour, day and week starts the Date there', () => {
    fc.assert(
      fc.property(fc.array(timestamp, { minLength: 1, maxLength: 40 }), (ts) => {
        const b = timeBatch(ts);
        const parts = (t: number) => {
          const d = dateOf(t);
          return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
        };
        const utc = (p: number[]) => Date.UTC(p[0], p[1], p[2], p[3] ?? 0, p[4] ?? 0, p[5] ?? 0) * 1000;
        expect(values("truncate(ts, '1s')", b)).toEqual(
          ts.map((t) => utc([...parts(t), dateOf(t).getUTCSeconds()])),
        );
        expect(values("truncate(ts, '1m')", b)).toEqual(ts.map((t) => utc(parts(t))));
        expect(values("truncate(ts, '1h')", b)).toEqual(ts.map((t) => utc(parts(t).slice(0, 4))));
        expect(values("truncate(ts, '1d')", b)).toEqual(ts.map((t) => utc(parts(t).slice(0, 3))));
        // Monday of the week: the day minus its ISO weekday - 1.
        expect(values("truncate(ts, '1w')", b)).toEqual(
          ts.map((t) => utc(parts(t).slice(0, 3)) - ((dateOf(t).getUTCDay() + 6) % 7) * 86_400e6),
        );
      }),
      { numRuns: 200 },
    );
  });

  it.each(DURATIONS)('truncate to %s is an exact floor', (text, every, anchor) => {
    fc.assert(
      fc.property(fc.array(timestamp, { minLength: 1, maxLength: 40 }), (ts) => {
        expect(values(`truncate(ts, '${text}')`, timeBatch(ts))).toEqual(
          ts.map((t) => bigFloor(t, every, anchor)),
        );
      }),
      { numRuns: 100 },
    );
  });
});

/** A nodejs-polars column of the timestamps (µs, UTC). */
const plTimestamps = (ts: number[]) =>
  pl.DataFrame([pl.Series('ts', ts, pl.Int64).cast(pl.Datetime('us', 'UTC'))]);

describe('time functions against nodejs-polars', () => {
  // nodejs-polars' typings say weekday() is 0-6; the engine gives ISO 1-7, as Polars.
  const plField = (f: TimeField, e: pl.Expr) => (e.dt as any)[f]() as pl.Expr;

  it('year … weekday and truncate match dt.* and dt.truncate in UTC', () => {
    fc.assert(
      fc.property(fc.array(timestamp, { minLength: 1, maxLength: 200 }), (ts) => {
        const df = plTimestamps(ts);
        const b = timeBatch(ts);
        const out = df.select(
          ...TIME_FIELDS.map((f) => plField(f, pl.col('ts')).cast(pl.Float64).alias(f)),
          ...DURATIONS.map(([d]) => pl.col('ts').dt.truncate(d).cast(pl.Int64).cast(pl.Float64).alias(d)),
        );
        for (const f of TIME_FIELDS)
          expect([f, values(`${f}(ts)`, b)]).toEqual([f, out.getColumn(f).toArray()]);
        for (const [d] of DURATIONS)
          expect([d, values(`truncate(ts, '${d}')`, b)]).toEqual([d, out.getColumn(d).toArray()]);
      }),
      { numRuns: 20 },
    );
  });

  it('the fields in a time zone match dt.convertTimeZone', () => {
    // 1972 to 2037: where Node's ICU and chrono-tz agree on every zone's rules.
    const recent = fc.integer({ min: 63_072_000_000_000, max: 2_114_380_800_000_000 });
    const zones = [
      'America/New_York',
      'Europe/London',
      'Asia/Kolkata',
      'Australia/Adelaide',
      'America/Sao_Paulo',
    ];
    fc.assert(
      fc.property(
        fc.array(recent, { minLength: 1, maxLength: 200 }),
        fc.constantFrom(...zones),
        (ts, zone) => {
          const local = plTimestamps(ts).select(pl.col('ts').dt.convertTimeZone(zone).alias('ts'));
          const out = local.select(
            ...TIME_FIELDS.map((f) => plField(f, pl.col('ts')).cast(pl.Float64).alias(f)),
          );
          const b = timeBatch(ts);
          for (const f of TIME_FIELDS)
            expect([f, zone, values(`${f}(ts, '${zone}')`, b)]).toEqual([
              f,
              zone,
              out.getColumn(f).toArray(),
            ]);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('string functions against nodejs-polars', () => {
  // Polars has no len_chars in nodejs-polars 0.25 (str.lengths counts bytes): len is not checked here.
  const text = fc.string({
    unit: fc.constantFrom('a', 'B', 'ß', 'İ', 'Σ', 'σ', 'é', 'É', '😀', '.', '-', ' '),
    maxLength: 6,
  });

  it('lower, upper, starts_with, ends_with and contains match str.*', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(text, { nil: null }), { minLength: 1, maxLength: 50 }),
        text,
        (rows, pat) => {
          const b = recordBatchFromVectors({ s: vectorFromArray(rows, new Utf8()) });
          const lit = pat.replaceAll("'", "''");
          const out = pl
            .DataFrame({ s: rows }, { schema: { s: pl.Utf8 } } as any)
            .select(
              pl.col('s').str.toLowerCase().alias('lower'),
              pl.col('s').str.toUpperCase().alias('upper'),
              pl.col('s').str.startsWith(pat).alias('starts_with'),
              pl.col('s').str.endsWith(pat).alias('ends_with'),
              pl.col('s').str.contains(pat, true).alias('contains'),
            );
          for (const f of ['lower', 'upper'])
            expect([f, values(`${f}(s)`, b)]).toEqual([f, out.getColumn(f).toArray()]);
          for (const f of ['starts_with', 'ends_with', 'contains'])
            expect([f, pat, values(`${f}(s, '${lit}')`, b)]).toEqual([f, pat, out.getColumn(f).toArray()]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
