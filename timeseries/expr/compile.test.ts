import type { RecordBatch } from 'apache-arrow';
import { Bool, Utf8, vectorFromArray } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dictionaryVector,
  float64Vector,
  int64Vector,
  recordBatchFromVectors,
  timestampVector,
} from '../arrow.ts';
import { colToVector, compileExpression } from './compile.ts';
import { ExprError } from './parse.ts';

const T0 = Date.UTC(2024, 0, 2, 14, 30) * 1000;

function batch(): RecordBatch {
  return recordBatchFromVectors({
    ts: timestampVector(Float64Array.from([0, 1, 2, 3, 4], (i) => T0 + i * 1_000_000)),
    symbol: dictionaryVector(Int32Array.from([0, 1, 0, 2, 1]), ['BTC', 'ETH', 'SOL']),
    price: float64Vector(Float64Array.from([10, 20, 0, -2.5, 8]), Uint8Array.from([1, 1, 0, 1, 1])),
    size: int64Vector(Float64Array.from([1, 2, 3, 4, 5])),
    flag: vectorFromArray([true, false, null, true, null], new Bool()),
    venue: vectorFromArray(['x', 'y', null, 'x', 'z'], new Utf8()),
  });
}

const B = batch();

function ev(text: string, b: RecordBatch = B): unknown[] {
  const c = compileExpression(text, b.schema);
  return Array.from(colToVector(c.evaluate(b), b.numRows), (x) => (typeof x === 'bigint' ? Number(x) : x));
}

function err(text: string): ExprError {
  try {
    compileExpression(text, B.schema);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError);
    return e as ExprError;
  }
  throw new Error(`"${text}" compiled`);
}

describe('expression compiler: values', () => {
  it('arithmetic follows precedence; nulls propagate; integers read as numbers', () => {
    expect(ev('price + size * 2')).toEqual([12, 24, null, 5.5, 18]);
    expect(ev('(price + size) * 2')).toEqual([22, 44, null, 3, 26]);
    expect(ev('-price % 3')).toEqual([-1, -2, null, 2.5, -2]);
    expect(ev('size / 0')).toEqual([Infinity, Infinity, Infinity, Infinity, Infinity]);
    expect(ev('price + null')).toEqual([null, null, null, null, null]);
  });

  it('comparisons give booleans, null where an operand is null', () => {
    expect(ev('price > 5')).toEqual([true, true, null, false, true]);
    expect(ev('size == 2 or size = 5')).toEqual([false, true, false, false, true]);
    expect(ev("symbol == 'ETH'")).toEqual([false, true, false, false, true]);
    expect(ev("symbol != 'ETH'")).toEqual([true, false, true, true, false]);
    expect(ev("symbol < 'C'")).toEqual([true, false, true, false, false]);
    expect(ev('symbol == venue')).toEqual([false, false, null, false, false]);
    expect(ev("venue >= 'y'")).toEqual([false, true, null, false, true]);
    expect(ev('flag == true')).toEqual([true, false, null, true, null]);
  });

  it('timestamps compare with ISO strings and subtract to µs', () => {
    expect(ev("ts >= '2024-01-02T14:30:02Z'")).toEqual([false, false, true, true, true]);
    expect(ev('ts - ts')).toEqual([0, 0, 0, 0, 0]);
    const shifted = ev('ts + 500000') as Date[] | number[];
    expect(Number(shifted[0])).toBe((T0 + 500_000) / 1000);
  });

  it('a timestamp computed from NaN or infinity is null, not a garbage int64', () => {
    // price is null in row 2 and 0 in no row; 1 / (price - 20) is infinite in row 1.
    expect(ev('ts + 0 / 0').map((x) => x === null)).toEqual([true, true, true, true, true]);
    const out = ev('ts + 1 / (price - 20)');
    expect(out.map((x) => x === null)).toEqual([false, true, true, false, false]);
    const v = colToVector(compileExpression('ts + 1 / (price - 20)', B.schema).evaluate(B), 5);
    expect(v.nullCount).toBe(2);
  });

  it('and/or/not follow three-valued logic', () => {
    // flag: true, false, null, true, null
    expect(ev('flag and true')).toEqual([true, false, null, true, null]);
    expect(ev('flag and false')).toEqual([false, false, false, false, false]);
    expect(ev('flag or true')).toEqual([true, true, true, true, true]);
    expect(ev('flag or false')).toEqual([true, false, null, true, null]);
    expect(ev('not flag')).toEqual([false, true, null, false, null]);
    expect(ev('null and false')).toEqual([false, false, false, false, false]);
    expect(ev('null or true')).toEqual([true, true, true, true, true]);
    expect(ev('null or false')).toEqual([null, null, null, null, null]);
  });

  it('in lists, with SQL null semantics', () => {
    expect(ev("symbol in ['BTC', 'SOL']")).toEqual([true, false, true, true, false]);
    expect(ev("symbol not in ['BTC', 'SOL']")).toEqual([false, true, false, false, true]);
    expect(ev('size in [1, 4]')).toEqual([true, false, false, true, false]);
    expect(ev('price in [10, -2.5]')).toEqual([true, false, null, true, false]);
    expect(ev('size in [1, null]')).toEqual([true, null, null, null, null]);
    expect(ev('size not in [1, null]')).toEqual([false, null, null, null, null]);
    expect(ev('venue in []')).toEqual([false, false, null, false, false]);
  });

  it('is null / is not null never give null', () => {
    expect(ev('price is null')).toEqual([false, false, true, false, false]);
    expect(ev('venue is not null')).toEqual([true, true, false, true, true]);
    expect(ev('(price + 1) is null or flag is null')).toEqual([false, false, true, false, true]);
  });

  it('functions', () => {
    expect(ev('abs(price)')).toEqual([10, 20, null, 2.5, 8]);
    expect(ev('sqrt(size * size)')).toEqual([1, 2, 3, 4, 5]);
    expect(ev('round(log(exp(size)))')).toEqual([1, 2, 3, 4, 5]);
    expect(ev('round(price / 4)')).toEqual([3, 5, null, -1, 2]);
    expect(ev('round(size / 3, 2)')).toEqual([0.33, 0.67, 1, 1.33, 1.67]);
    expect(ev('round(-0.5)')[0]).toBe(-1);
    expect(ev('min(price, size)')).toEqual([1, 2, 3, -2.5, 5]);
    expect(ev('max(price, null)')).toEqual([10, 20, null, -2.5, 8]);
  });

  it('a bare column passes through unchanged', () => {
    const c = compileExpression('symbol', B.schema);
    expect(c.column).toBe('symbol');
    expect(c.vector(B).data[0]).toBe(B.getChild('symbol')!.data[0]);
    expect(c.columns).toEqual(['symbol']);
  });

  it('filter masks drop null rows', () => {
    const c = compileExpression('price > 5 and flag', B.schema);
    expect(Array.from(c.mask(B))).toEqual([1, 0, 0, 0, 0]);
  });
});

describe('expression compiler: if and coalesce', () => {
  // flag: true false null true null; price: 10 20 null -2.5 8; size: 1..5
  // symbol: BTC ETH BTC SOL ETH; venue: x y null x z
  const ms = (i: number, plusMs = 0) => T0 / 1000 + i * 1000 + plusMs;

  it.each([
    ['if(flag, price, size)', [10, 2, 3, -2.5, 5]],
    ['if(size > 2, size, price)', [10, 20, 3, 4, 5]],
    ['if(price > 5, 1, 0)', [1, 1, 0, 0, 1]],
    ['if(flag, null, size)', [null, 2, 3, null, 5]],
    ['if(flag, size, null)', [1, null, null, 4, null]],
    ['if(null, size, -1)', [-1, -1, -1, -1, -1]],
    ['if(flag, 0 / 0, size)', [Number.NaN, 2, 3, Number.NaN, 5]],
    ['IF(flag is null, false, flag)', [true, false, false, true, false]],
    ['if(flag, symbol, venue)', ['BTC', 'y', null, 'SOL', 'z']],
    ["if(size > 3, 'big', symbol)", ['BTC', 'ETH', 'BTC', 'big', 'big']],
    ["if(flag, 'a', if(flag is null, 'n', 'b'))", ['a', 'b', 'n', 'a', 'n']],
    ['if(flag, ts, ts + 60000000)', [ms(0), ms(1, 60_000), ms(2, 60_000), ms(3), ms(4, 60_000)]],
    ['coalesce(price, size)', [10, 20, 3, -2.5, 8]],
    ['coalesce(price, null)', [10, 20, null, -2.5, 8]],
    ['COALESCE(null, price, size * 10)', [10, 20, 30, -2.5, 8]],
    ['coalesce(null, null)', [null, null, null, null, null]],
    ['coalesce(if(size > 2, 0 / 0, null), size)', [1, 2, Number.NaN, Number.NaN, Number.NaN]],
    ['coalesce(venue, symbol)', ['x', 'y', 'BTC', 'x', 'z']],
    ["coalesce(venue, 'none')", ['x', 'y', 'none', 'x', 'z']],
    ['coalesce(flag, price > 15, false)', [true, false, false, true, false]],
    ['coalesce(if(flag, ts, null), ts + 1000)', [ms(0), ms(1, 1), ms(2, 1), ms(3), ms(4, 1)]],
    // Merged dictionaries work with the string operators.
    ["coalesce(venue, symbol) in ['BTC', 'z']", [false, false, true, false, true]],
    ['if(flag, venue, symbol) == symbol', [false, true, true, false, true]],
    ["symbol < coalesce(venue, 'A')", [true, true, false, true, true]],
  ])('%s', (text, expected) => {
    expect(ev(text)).toEqual(expected);
  });

  it('have the type of their values; strings come out as Utf8; booleans filter', () => {
    const type = (text: string) => compileExpression(text, B.schema).type;
    expect(['if(flag, null, ts)', "coalesce(null, 'x')", 'if(flag, null, null)'].map(type)).toEqual([
      'ts',
      'str',
      'null',
    ]);
    expect(String(compileExpression('coalesce(symbol, venue)', B.schema).vector(B).type)).toBe('Utf8');
    const c = compileExpression("if(symbol == 'BTC', price > 5, coalesce(flag, true))", B.schema);
    expect(Array.from(c.mask(B))).toEqual([1, 0, 0, 1, 1]);
  });
});

describe('expression compiler: errors', () => {
  it.each([
    ['price + symbol', 6, 'POLAROID_EXPR_TYPE', /cannot apply "\+" to a number and a string/],
    ["price > 'x'", 6, 'POLAROID_EXPR_TYPE', /cannot compare a number with a string/],
    ['flag < true', 5, 'POLAROID_EXPR_TYPE', /cannot compare a boolean with a boolean using "<"/],
    ['not price', 0, 'POLAROID_EXPR_TYPE', /"not" needs a boolean, got a number/],
    ['price and flag', 6, 'POLAROID_EXPR_TYPE', /the left side is a number/],
    ["symbol in [1, 'a']", 11, 'POLAROID_EXPR_TYPE', /list holds a number but the value is a string/],
    ['sqrt(symbol)', 0, 'POLAROID_EXPR_TYPE', /sqrt needs a number/],
    ['round(price, 1.5)', 13, 'POLAROID_EXPR_TYPE', /integer literal/],
    ['max(price)', 0, 'POLAROID_EXPR_TYPE', /max takes 2 arguments, got 1/],
    ['median(price)', 0, 'POLAROID_EXPR_SYNTAX', /unknown function "median"; functions are .*, if, coalesce/],
    [
      'if(price, 1, 2)',
      3,
      'POLAROID_EXPR_TYPE',
      /condition of if \(argument 1\) must be a boolean, got a number/,
    ],
    ['IF(flag, 1)', 0, 'POLAROID_EXPR_TYPE', /if takes 3 arguments, got 2/],
    ['if(flag, 1, 2, 3)', 0, 'POLAROID_EXPR_TYPE', /if takes 3 arguments, got 4/],
    [
      "if(flag, size, 'x')",
      15,
      'POLAROID_EXPR_TYPE',
      /argument 3 of if is a string but argument 2 is a number/,
    ],
    [
      'if(flag, ts, price * 2)',
      19,
      'POLAROID_EXPR_TYPE',
      /argument 3 of if is a number but argument 2 is a timestamp; both branches of if must have one type \(numbers/,
    ],
    ['coalesce(price)', 0, 'POLAROID_EXPR_TYPE', /coalesce takes 2 or more arguments, got 1/],
    [
      'coalesce(price, ts)',
      16,
      'POLAROID_EXPR_TYPE',
      /argument 2 of coalesce is a timestamp but argument 1 is a number; .* \(numbers and timestamps do not mix\)/,
    ],
    [
      'coalesce(null, flag, venue)',
      21,
      'POLAROID_EXPR_TYPE',
      /argument 3 of coalesce is a string but argument 2 is a boolean; all arguments of coalesce must have one type$/,
    ],
    ['coalesce(venue, ts)', 16, 'POLAROID_EXPR_TYPE', /argument 2 of coalesce is a timestamp/],
    ["ts > 'yesterday'", 5, 'POLAROID_EXPR_TYPE', /not an ISO-8601 timestamp/],
    ['ts * 2', 3, 'POLAROID_EXPR_TYPE', /timestamps allow/],
    [
      'foo + bar * price + foo',
      0,
      'POLAROID_EXPR_COLUMN',
      /unknown columns "foo", "bar"; columns are: ts, symbol/,
    ],
    ['symbol == "BTC"', 10, 'POLAROID_EXPR_COLUMN', /unknown column "BTC".*strings are in single quotes/],
  ])('%s', (text, pos, code, re) => {
    const e = err(text);
    expect([e.code, e.position]).toEqual([code, pos]);
    expect(e.detail).toMatch(re);
  });
});

/** One SOL row after {@link B}: price 1, size 10, flag true. */
function nextBatch(): RecordBatch {
  return recordBatchFromVectors({
    ts: timestampVector(Float64Array.from([T0 + 9e6])),
    symbol: dictionaryVector(Int32Array.from([0]), ['SOL']),
    price: float64Vector(Float64Array.from([1])),
    size: int64Vector(Float64Array.from([10])),
    flag: vectorFromArray([true], new Bool()),
    venue: vectorFromArray(['x'], new Utf8()),
  });
}

describe('expression compiler: shift and diff', () => {
  it('look back within each key and carry history across batches', () => {
    const b = B;
    const c = compileExpression('diff(size, 1)', b.schema, { by: ['symbol'] });
    // symbol: BTC ETH BTC SOL ETH; size 1..5
    const first = Array.from(colToVector(c.evaluate(b), 5));
    expect(first).toEqual([null, null, 2, null, 3]);
    const again = Array.from(colToVector(c.evaluate(b), 5));
    expect(again).toEqual([first[0], first[1], first[2], first[3], first[4]]);
    expect(Array.from(colToVector(c.evaluate(nextBatch()), 1))).toEqual([6]);
    const s = compileExpression('shift(price, 2)', b.schema);
    expect(ev('shift(price, 2)')).toEqual([null, null, 10, 20, null]);
    expect(s.stateful).toBe(true);
  });

  it('advance in every branch of if and every argument of coalesce, taken or not', () => {
    // flag: true false null true null; shift(size): null 1 2 3 4; diff(size): null 1 1 1 1
    const c = compileExpression('if(flag, shift(size, 1), diff(size, 1))', B.schema);
    expect(Array.from(colToVector(c.evaluate(B), 5))).toEqual([null, 1, 1, 3, 1]);
    // The last row took the diff branch; the shift still saw its size.
    expect(Array.from(colToVector(c.evaluate(nextBatch()), 1))).toEqual([5]);
    // shift(price): null 10 20 null -2.5
    const k = compileExpression('coalesce(shift(price, 1), price)', B.schema);
    expect(Array.from(colToVector(k.evaluate(B), 5))).toEqual([10, 10, 20, -2.5, -2.5]);
    expect(Array.from(colToVector(k.evaluate(nextBatch()), 1))).toEqual([8]);
  });

  it('shift of strings is refused', () => {
    expect(() => compileExpression('shift(symbol)', B.schema)).toThrow(/shift of a string/);
  });
});

describe('expression compiler: if and coalesce against a row-by-row reference', () => {
  type Ty = 'num' | 'ts' | 'bool' | 'str';
  interface Row {
    n1: number | null;
    n2: number | null;
    t1: number | null;
    t2: number | null;
    b1: boolean | null;
    b2: boolean | null;
    s1: number | null;
    s2: string | null;
  }
  /** An expression and its value on one row (null, or the JS value Arrow gives back). */
  interface Gen {
    text: string;
    at: (r: Row) => unknown;
  }
  // s1 is a dictionary column whose dictionary holds "a" twice.
  const S1 = ['a', 'b', 'zz', 'a'];

  const leaves: Record<Ty, Gen[]> = {
    num: [
      { text: 'n1', at: (r) => r.n1 },
      { text: 'n2', at: (r) => r.n2 },
      { text: '-1.5', at: () => -1.5 },
    ],
    ts: [
      { text: 't1', at: (r) => (r.t1 === null ? null : r.t1 / 1000) },
      { text: 't2 + 2000', at: (r) => (r.t2 === null ? null : r.t2 / 1000 + 2) },
    ],
    bool: [
      { text: 'b1', at: (r) => r.b1 },
      { text: 'b2', at: (r) => r.b2 },
      { text: 'true', at: () => true },
      { text: 'n1 > n2', at: (r) => (r.n1 === null || r.n2 === null ? null : r.n1 > r.n2) },
    ],
    str: [
      { text: 's1', at: (r) => (r.s1 === null ? null : S1[r.s1]) },
      { text: 's2', at: (r) => r.s2 },
      { text: "'a'", at: () => 'a' },
    ],
  };
  const NULL: Gen = { text: 'null', at: () => null };

  function expr(t: Ty, depth: number): fc.Arbitrary<Gen> {
    const leaf = fc.constantFrom(...leaves[t], NULL);
    if (depth === 0) return leaf;
    const sub = expr(t, depth - 1);
    return fc.oneof(
      leaf,
      fc.tuple(expr('bool', depth - 1), sub, sub).map(([c, a, b]) => ({
        text: `if(${c.text}, ${a.text}, ${b.text})`,
        at: (r: Row) => (c.at(r) === true ? a.at(r) : b.at(r)),
      })),
      fc.array(sub, { minLength: 2, maxLength: 4 }).map((args) => ({
        text: `coalesce(${args.map((a) => a.text).join(', ')})`,
        at: (r: Row) => args.map((a) => a.at(r)).find((v) => v !== null) ?? null,
      })),
    );
  }

  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });
  const row = fc.record({
    n1: opt(fc.constantFrom(0, 1, 2.5, -3, Number.NaN)),
    n2: opt(fc.constantFrom(0, 1, 2.5, Number.NaN)),
    t1: opt(fc.integer({ min: 0, max: 1000 }).map((x) => T0 + x * 1000)),
    t2: opt(fc.integer({ min: 0, max: 1000 }).map((x) => T0 + x * 1000)),
    b1: opt(fc.boolean()),
    b2: opt(fc.boolean()),
    s1: opt(fc.integer({ min: 0, max: S1.length - 1 })),
    s2: opt(fc.constantFrom('a', 'b', 'c')),
  });

  function batchOf(rows: Row[]): RecordBatch {
    const valid = (k: keyof Row) => Uint8Array.from(rows, (r) => (r[k] === null ? 0 : 1));
    const nums = (k: 'n1' | 'n2' | 't1' | 't2') => Float64Array.from(rows, (r) => r[k] ?? 0);
    return recordBatchFromVectors({
      n1: float64Vector(nums('n1'), valid('n1')),
      n2: float64Vector(nums('n2'), valid('n2')),
      t1: timestampVector(nums('t1'), valid('t1')),
      t2: timestampVector(nums('t2'), valid('t2')),
      b1: vectorFromArray(
        rows.map((r) => r.b1),
        new Bool(),
      ),
      b2: vectorFromArray(
        rows.map((r) => r.b2),
        new Bool(),
      ),
      s1: dictionaryVector(
        Int32Array.from(rows, (r) => r.s1 ?? 0),
        S1,
        -1,
        valid('s1'),
      ),
      s2: vectorFromArray(
        rows.map((r) => r.s2),
        new Utf8(),
      ),
    });
  }

  it.each(['num', 'ts', 'bool', 'str'] as const)('%s', (t) => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), expr(t, 3), (rows, e) => {
        expect(ev(e.text, batchOf(rows as Row[]))).toEqual(rows.map((r) => e.at(r as Row)));
      }),
      { numRuns: 150 },
    );
  });
});
