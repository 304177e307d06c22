import type { RecordBatch } from 'apache-arrow';
import { Bool, Utf8, vectorFromArray } from 'apache-arrow';
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
    ['median(price)', 0, 'POLAROID_EXPR_SYNTAX', /unknown function "median"/],
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

describe('expression compiler: shift and diff', () => {
  it('look back within each key and carry history across batches', () => {
    const b = B;
    const c = compileExpression('diff(size, 1)', b.schema, { by: ['symbol'] });
    // symbol: BTC ETH BTC SOL ETH; size 1..5
    const first = Array.from(colToVector(c.evaluate(b), 5));
    expect(first).toEqual([null, null, 2, null, 3]);
    const again = Array.from(colToVector(c.evaluate(b), 5));
    expect(again).toEqual([first[0], first[1], first[2], first[3], first[4]]);
    const next = recordBatchFromVectors({
      ts: timestampVector(Float64Array.from([T0 + 9e6])),
      symbol: dictionaryVector(Int32Array.from([0]), ['SOL']),
      price: float64Vector(Float64Array.from([1])),
      size: int64Vector(Float64Array.from([10])),
      flag: vectorFromArray([true], new Bool()),
      venue: vectorFromArray(['x'], new Utf8()),
    });
    expect(Array.from(colToVector(c.evaluate(next), 1))).toEqual([6]);
    const s = compileExpression('shift(price, 2)', b.schema);
    expect(ev('shift(price, 2)')).toEqual([null, null, 10, 20, null]);
    expect(s.stateful).toBe(true);
  });

  it('shift of strings is refused', () => {
    expect(() => compileExpression('shift(symbol)', B.schema)).toThrow(/shift of a string/);
  });
});
