/**
 * Int64 ↔ float64 without BigInt per element.
 *
 * Arrow timestamps are int64 (µs). `Number(bigint)` costs ~40 ns an element here, so kernels read
 * the two 32-bit halves of each value instead: value = hi · 2^32 + (lo >>> 0), exact for
 * |value| < 2^53 (µs since 1970 stays below that until the year 2255).
 */

const TWO_32 = 4294967296;

/** Copy int64 values into a Float64Array (allocated when `out` is not given). */
export function int64ToFloat64(src: BigInt64Array, out?: Float64Array): Float64Array {
  const n = src.length;
  const dst = out ?? new Float64Array(n);
  const words = new Int32Array(src.buffer, src.byteOffset, n * 2);
  for (let i = 0, j = 0; i < n; i++, j += 2) dst[i] = words[j + 1] * TWO_32 + (words[j] >>> 0);
  return dst;
}

/** Copy integral float64 values (|v| < 2^53) into a BigInt64Array (allocated when `out` is not given). */
export function float64ToInt64(src: Float64Array | ArrayLike<number>, out?: BigInt64Array): BigInt64Array {
  const n = src.length;
  const dst = out ?? new BigInt64Array(n);
  const words = new Int32Array(dst.buffer, dst.byteOffset, n * 2);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const v = src[i];
    const hi = Math.floor(v / TWO_32);
    words[j] = (v - hi * TWO_32) | 0;
    words[j + 1] = hi | 0;
  }
  return dst;
}

/** Write one integral number into slot `i` of an int64 array viewed as 32-bit words. */
export function setInt64(words: Int32Array, i: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  words[2 * i] = (v - hi * TWO_32) | 0;
  words[2 * i + 1] = hi | 0;
}
