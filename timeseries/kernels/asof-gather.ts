/**
 * Gather ("take") kernels for join outputs: copy source values at given row indices into a
 * pre-sized output, with -1 meaning "no row" (the slot is zero and marked null).
 *
 * A source can be one array (`row` indexes it) or several chunks (`slot[i]` picks the chunk and
 * `row[i]` the row in it), as the streaming join gathers from the right batches it retains.
 * 64-bit values (int64, timestamps) are moved as pairs of 32-bit words, never as BigInt.
 */

type Numeric = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array;
type NumericOrBytes = Numeric | Uint8Array;

/** out[i] = src[row[i]] (0 where row[i] < 0), one source. */
export function gatherFloat64(src: Float64Array, row: Int32Array, out = new Float64Array(row.length)) {
  for (let i = 0; i < row.length; i++) {
    const j = row[i];
    out[i] = j >= 0 ? src[j] : 0;
  }
  return out;
}

/** out[i] = src[row[i]] (0 where row[i] < 0), one source, any 8/16/32-bit typed array. */
export function gatherValues<T extends NumericOrBytes>(src: T, row: Int32Array, out: T): T {
  for (let i = 0; i < row.length; i++) {
    const j = row[i];
    out[i] = j >= 0 ? src[j] : 0;
  }
  return out;
}

/** 64-bit values viewed as 32-bit word pairs: out words 2i, 2i+1 = src words 2j, 2j+1. */
export function gatherWords64(src: Int32Array, row: Int32Array, out = new Int32Array(row.length * 2)) {
  for (let i = 0; i < row.length; i++) {
    const j = row[i];
    if (j >= 0) {
      out[2 * i] = src[2 * j];
      out[2 * i + 1] = src[2 * j + 1];
    } else {
      out[2 * i] = 0;
      out[2 * i + 1] = 0;
    }
  }
  return out;
}

/**
 * {@link gatherWords64} in place: `words` (2n words) holds the row indices in its first `n`
 * entries and receives the gathered word pairs. Rows run from the last down, so each index is read
 * before its words are overwritten (row i writes words 2i and 2i+1, indices of rows already done).
 */
export function gatherWords64InPlace(src: Int32Array, words: Int32Array, n: number): void {
  if (words.length < 2 * n) throw new Error('gatherWords64InPlace needs two words per row');
  for (let i = n - 1; i >= 0; i--) {
    const j = words[i];
    if (j >= 0) {
      const lo = src[2 * j];
      const hi = src[2 * j + 1];
      words[2 * i] = lo;
      words[2 * i + 1] = hi;
    } else {
      words[2 * i] = 0;
      words[2 * i + 1] = 0;
    }
  }
}

/** Several chunks: out[i] = srcs[slot[i]][row[i]] (0 where row[i] < 0). */
export function gatherValuesMulti<T extends NumericOrBytes>(
  srcs: readonly T[],
  slot: Int32Array,
  row: Int32Array,
  out: T,
): T {
  for (let i = 0; i < row.length; i++) {
    const j = row[i];
    out[i] = j >= 0 ? srcs[slot[i]][j] : 0;
  }
  return out;
}

/** Several chunks of 64-bit values viewed as 32-bit word pairs. */
export function gatherWords64Multi(
  srcs: readonly Int32Array[],
  slot: Int32Array,
  row: Int32Array,
  out = new Int32Array(row.length * 2),
): Int32Array {
  for (let i = 0; i < row.length; i++) {
    const j = row[i];
    if (j >= 0) {
      const s = srcs[slot[i]];
      out[2 * i] = s[2 * j];
      out[2 * i + 1] = s[2 * j + 1];
    }
  }
  return out;
}

/** A validity bitmap (LSB order) with its bit offset, or undefined when every slot is valid. */
export interface Bits {
  bits: Uint8Array | undefined;
  offset: number;
}

function bitAt(b: Bits, j: number): boolean {
  if (b.bits === undefined) return true;
  const p = b.offset + j;
  return (b.bits[p >> 3] & (1 << (p & 7))) !== 0;
}

const POPCOUNT = new Uint8Array(256);
for (let b = 1; b < 256; b++) POPCOUNT[b] = (b & 1) + POPCOUNT[b >> 1];

/**
 * Validity bits of "a right row matched" (`row[i] >= 0`) into `bitmap` (LSB first, at least
 * `ceil(n / 8)` bytes); returns the number of unmatched rows.
 */
export function matchBits(row: Int32Array, n: number, bitmap: Uint8Array): number {
  let nulls = 0;
  const full = n >> 3;
  for (let b = 0; b < full; b++) {
    const i = b << 3;
    const byte =
      (row[i] >= 0 ? 1 : 0) |
      (row[i + 1] >= 0 ? 2 : 0) |
      (row[i + 2] >= 0 ? 4 : 0) |
      (row[i + 3] >= 0 ? 8 : 0) |
      (row[i + 4] >= 0 ? 16 : 0) |
      (row[i + 5] >= 0 ? 32 : 0) |
      (row[i + 6] >= 0 ? 64 : 0) |
      (row[i + 7] >= 0 ? 128 : 0);
    bitmap[b] = byte;
    nulls += 8 - POPCOUNT[byte];
  }
  if (full << 3 < n) {
    let byte = 0;
    for (let i = full << 3; i < n; i++) if (row[i] >= 0) byte |= 1 << (i & 7);
    bitmap[full] = byte;
    nulls += n - (full << 3) - POPCOUNT[byte];
  }
  return nulls;
}

/**
 * Validity of the gathered output: valid where a row was taken and the source slot is valid.
 * Returns the bitmap (undefined when nothing is null) and the null count.
 */
export function gatherValidity(
  srcs: readonly Bits[],
  slot: Int32Array | undefined,
  row: Int32Array,
): { bitmap: Uint8Array | undefined; nullCount: number } {
  const n = row.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const anySrcNulls = srcs.some((s) => s.bits !== undefined);
  if (!anySrcNulls) nulls = matchBits(row, n, bitmap);
  else {
    for (let i = 0; i < n; i++) {
      const j = row[i];
      if (j >= 0 && bitAt(srcs[slot ? slot[i] : 0], j)) bitmap[i >> 3] |= 1 << (i & 7);
      else nulls++;
    }
  }
  return { bitmap: nulls === 0 ? undefined : bitmap, nullCount: nulls };
}

/** Gather packed booleans (bit-packed values with a bit offset per source). */
export function gatherBits(srcs: readonly Bits[], slot: Int32Array | undefined, row: Int32Array): Uint8Array {
  const n = row.length;
  const out = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const j = row[i];
    if (j >= 0 && bitAt(srcs[slot ? slot[i] : 0], j)) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}
