import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float64ToInt64, int64ToFloat64 } from './int64.ts';

describe('int64 <-> float64', () => {
  it('round-trips every safe integer, negative ones included', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeInteger()), (xs) => {
        const big = BigInt64Array.from(xs.map((x) => BigInt(x)));
        const f = int64ToFloat64(big);
        expect(Array.from(f)).toEqual(xs);
        expect(Array.from(float64ToInt64(f))).toEqual(Array.from(big));
      }),
    );
  });

  it('reads a subarray at an offset', () => {
    const big = BigInt64Array.from([1n, -2n, 1_700_000_000_000_000n, 4n]);
    expect(Array.from(int64ToFloat64(big.subarray(1, 3)))).toEqual([-2, 1_700_000_000_000_000]);
  });
});
