import { Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { dictionaryVector, float64Vector, recordBatchFromVectors } from './arrow.ts';
import { KeyMapper } from './rolling-keys.ts';

describe('KeyMapper', () => {
  it('keeps ids stable across batches whose dictionaries differ', () => {
    const m = new KeyMapper(['symbol']);
    const a = recordBatchFromVectors({
      symbol: dictionaryVector(Int32Array.from([0, 1, 0]), ['BTC', 'ETH']),
    });
    const b = recordBatchFromVectors({
      symbol: dictionaryVector(Int32Array.from([0, 1, 2]), ['SOL', 'BTC', 'ETH']),
    });
    expect(Array.from(m.encode(a)!)).toEqual([0, 1, 0]);
    expect(Array.from(m.encode(b)!)).toEqual([2, 0, 1]);
    expect(m.describe(2)).toBe('symbol=SOL');
  });

  it('encodes utf8 columns, with null as a key of its own', () => {
    const m = new KeyMapper(['venue']);
    const a = recordBatchFromVectors({ venue: vectorFromArray(['x', null, 'y', 'x', null], new Utf8()) });
    expect(Array.from(m.encode(a)!)).toEqual([0, 1, 2, 0, 1]);
    expect(m.describe(1)).toBe('venue=null');
  });

  it('combines several key columns without collisions', () => {
    const m = new KeyMapper(['a', 'b', 'c']);
    const batch = recordBatchFromVectors({
      a: vectorFromArray(['p', 'p', 'q', 'p'], new Utf8()),
      b: vectorFromArray(['x', 'y', 'x', 'x'], new Utf8()),
      c: vectorFromArray(['1', '1', '1', '2'], new Utf8()),
    });
    const ids = Array.from(m.encode(batch)!);
    expect(new Set(ids).size).toBe(4);
    expect(m.describe(ids[3])).toBe('a=p, b=x, c=2');
    expect(Array.from(m.encode(batch)!)).toEqual(ids);
  });

  it('gives null without key columns', () => {
    expect(
      new KeyMapper([]).encode(recordBatchFromVectors({ x: float64Vector(Float64Array.of(1)) })),
    ).toBeNull();
  });
});
