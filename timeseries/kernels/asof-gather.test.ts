import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  gatherBits,
  gatherFloat64,
  gatherValidity,
  gatherValues,
  gatherValuesMulti,
  gatherWords64,
  gatherWords64InPlace,
  gatherWords64Multi,
} from './asof-gather.ts';

const bitsOf = (bitmap: Uint8Array | undefined, n: number) =>
  Array.from({ length: n }, (_, i) =>
    bitmap === undefined ? true : (bitmap[i >> 3] & (1 << (i & 7))) !== 0,
  );

describe('gather kernels', () => {
  it('take values by row, -1 giving zero', () => {
    const row = Int32Array.of(2, -1, 0, 2);
    expect(Array.from(gatherFloat64(Float64Array.of(1.5, 2.5, 3.5), row))).toEqual([3.5, 0, 1.5, 3.5]);
    expect(Array.from(gatherValues(Int32Array.of(7, 8, 9), row, new Int32Array(4)))).toEqual([9, 0, 7, 9]);
    const src = BigInt64Array.of(-5n, 2n ** 40n + 3n, 9n);
    const words = gatherWords64(new Int32Array(src.buffer), row);
    expect(Array.from(new BigInt64Array(words.buffer))).toEqual([9n, 0n, -5n, 9n]);
  });
  it('take 64-bit values in place, over the indices held in the first half of the output', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: -1, max: 1000 }), { maxLength: 40 }),
        (values, picks) => {
          const src = BigInt64Array.from(values);
          const row = Int32Array.from(picks, (p) => (p < 0 ? -1 : p % values.length));
          const expected = Array.from(
            new BigInt64Array(gatherWords64(new Int32Array(src.buffer), row).buffer),
          );
          const buffer = new ArrayBuffer(8 * row.length);
          new Int32Array(buffer, 0, row.length).set(row);
          gatherWords64InPlace(new Int32Array(src.buffer), new Int32Array(buffer), row.length);
          expect(Array.from(new BigInt64Array(buffer))).toEqual(expected);
        },
      ),
    );
  });
  it('take values from several chunks by (slot, row)', () => {
    const slot = Int32Array.of(1, 0, 0, 1);
    const row = Int32Array.of(0, 1, -1, 1);
    const out = gatherValuesMulti(
      [Float64Array.of(1, 2), Float64Array.of(3, 4)],
      slot,
      row,
      new Float64Array(4),
    );
    expect(Array.from(out)).toEqual([3, 2, 0, 4]);
    const a = BigInt64Array.of(1n, 2n);
    const b = BigInt64Array.of(-3n, 2n ** 50n);
    const w = gatherWords64Multi([new Int32Array(a.buffer), new Int32Array(b.buffer)], slot, row);
    expect(Array.from(new BigInt64Array(w.buffer))).toEqual([-3n, 2n, 0n, 2n ** 50n]);
  });
  it('validity: matched rows whose source slot is valid, with the null count', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 40 }),
        fc.boolean(),
        (rows, srcNulls) => {
          const row = Int32Array.from(rows);
          const src = srcNulls ? Uint8Array.of(0b01010101, 0b11) : undefined;
          const { bitmap, nullCount } = gatherValidity([{ bits: src, offset: 0 }], undefined, row);
          const want = rows.map((j) => j >= 0 && (src === undefined || (src[j >> 3] & (1 << (j & 7))) !== 0));
          expect(bitsOf(bitmap, rows.length)).toEqual(want);
          expect(nullCount).toBe(want.filter((v) => !v).length);
        },
      ),
    );
  });
  it('packed booleans honour the bit offset of each source', () => {
    const out = gatherBits(
      [
        { bits: Uint8Array.of(0b0110), offset: 1 },
        { bits: Uint8Array.of(0b1), offset: 0 },
      ],
      Int32Array.of(0, 1, 0, 0),
      Int32Array.of(0, 0, 2, -1),
    );
    expect(bitsOf(out, 4)).toEqual([true, true, false, false]);
  });
});
