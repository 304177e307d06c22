/**
 * Growable column builders for the decoders: each writes values straight into typed arrays of
 * one Arrow type, with a validity bitmap that exists only once a null has been written.
 *
 * A builder does not count its rows: the decoder writes row `i` into every column and commits
 * the row only when all columns accepted it, so a rejected row is simply overwritten by the next
 * one. `finish(length)` hands the first `length` slots to Arrow: zero-copy (a subarray) when the
 * batch fills at least half the arrays, which then belong to the batch and are replaced by fresh
 * ones; otherwise the used part is copied and the arrays are kept, so a small batch (a `period`
 * flush) does not pin buffers sized for a full one.
 */
import {
  Bool,
  type Data,
  type DataType,
  Dictionary,
  Float64,
  Int32,
  Int64,
  makeData,
  TimestampMicrosecond,
  Utf8,
  Vector,
} from 'apache-arrow';
import { setInt64 } from '../../timeseries/kernels/int64.ts';

/** What every builder offers the decoder besides its typed `set`. */
export interface ColumnBuilder {
  readonly type: DataType;
  /** Rows the arrays can hold before `reserve` must grow them. */
  readonly capacity: number;
  /** Grow (copying what was written) so that at least `rows` rows fit. */
  reserve(rows: number): void;
  /** Mark row `i` null (its value slot is zeroed). */
  setNull(i: number): void;
  /** Hand rows `[0, length)` to Arrow and start the next batch. */
  finish(length: number): Data;
}

/** Smallest capacity a builder is created with. */
const MIN_CAPACITY = 16;

function nextCapacity(current: number, rows: number): number {
  let c = Math.max(current, MIN_CAPACITY);
  while (c < rows) c *= 2;
  return c;
}

/** Whether a batch of `length` rows takes the arrays (zero-copy) or gets a copy of their prefix. */
function handOver(length: number, capacity: number): boolean {
  return length * 2 >= capacity;
}

/**
 * Validity bits, allocated at the first null: all slots start valid (0xFF) and a valid write
 * only touches the bitmap once it exists.
 */
class Validity {
  bits: Uint8Array | null = null;

  markValid(i: number): void {
    const bits = this.bits;
    if (bits !== null) bits[i >> 3] |= 1 << (i & 7);
  }

  markNull(i: number, capacity: number): void {
    let bits = this.bits;
    if (bits === null) {
      bits = new Uint8Array((capacity + 7) >> 3).fill(0xff);
      this.bits = bits;
    }
    bits[i >> 3] &= ~(1 << (i & 7));
  }

  grow(capacity: number): void {
    const old = this.bits;
    if (old === null) return;
    const bits = new Uint8Array((capacity + 7) >> 3).fill(0xff);
    bits.set(old);
    this.bits = bits;
  }

  /** The bitmap and null count of rows `[0, length)`, then reset for the next batch. */
  take(length: number): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    const bits = this.bits;
    this.bits = null;
    if (bits === null) return { nullBitmap: undefined, nullCount: 0 };
    let valid = 0;
    const full = length >> 3;
    for (let b = 0; b < full; b++) valid += POPCOUNT[bits[b]];
    for (let i = full << 3; i < length; i++) valid += (bits[i >> 3] >> (i & 7)) & 1;
    const nullCount = length - valid;
    if (nullCount === 0) return { nullBitmap: undefined, nullCount: 0 };
    return { nullBitmap: bits.slice(0, (length + 7) >> 3), nullCount };
  }
}

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/** Float64 values. */
export class F64Builder implements ColumnBuilder {
  readonly type = new Float64();
  capacity: number;
  private values: Float64Array;
  private readonly validity = new Validity();
  private readonly initial: number;

  constructor(capacity: number) {
    this.initial = this.capacity = nextCapacity(capacity, 0);
    this.values = new Float64Array(this.capacity);
  }

  set(i: number, v: number): void {
    this.values[i] = v;
    this.validity.markValid(i);
  }

  setNull(i: number): void {
    this.values[i] = 0;
    this.validity.markNull(i, this.capacity);
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = nextCapacity(this.capacity, rows);
    const values = new Float64Array(this.capacity);
    values.set(this.values);
    this.values = values;
    this.validity.grow(this.capacity);
  }

  finish(length: number): Data<Float64> {
    const { nullBitmap, nullCount } = this.validity.take(length);
    let data: Float64Array;
    if (handOver(length, this.capacity)) {
      data = this.values.subarray(0, length);
      this.capacity = this.initial;
      this.values = new Float64Array(this.capacity);
    } else data = this.values.slice(0, length);
    return makeData({ type: this.type, length, data, nullBitmap, nullCount });
  }
}

/**
 * 64-bit integers kept in a BigInt64Array and written through its 32-bit words, so a row costs
 * no BigInt unless the value is beyond 2^53 (`setBig`).
 */
abstract class Int64WordsBuilder {
  capacity: number;
  protected values: BigInt64Array;
  protected words: Int32Array;
  protected readonly validity = new Validity();
  private readonly initial: number;

  constructor(capacity: number) {
    this.initial = this.capacity = nextCapacity(capacity, 0);
    this.values = new BigInt64Array(this.capacity);
    this.words = new Int32Array(this.values.buffer);
  }

  /** Write an integral number with |v| < 2^53. */
  set(i: number, v: number): void {
    setInt64(this.words, i, v);
    this.validity.markValid(i);
  }

  /** Write a value beyond the exact float64 range. */
  setBig(i: number, v: bigint): void {
    this.values[i] = v;
    this.validity.markValid(i);
  }

  setNull(i: number): void {
    this.values[i] = 0n;
    this.validity.markNull(i, this.capacity);
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = nextCapacity(this.capacity, rows);
    const values = new BigInt64Array(this.capacity);
    values.set(this.values);
    this.values = values;
    this.words = new Int32Array(values.buffer);
    this.validity.grow(this.capacity);
  }

  protected take(length: number): {
    data: BigInt64Array;
    nullBitmap: Uint8Array | undefined;
    nullCount: number;
  } {
    const { nullBitmap, nullCount } = this.validity.take(length);
    let data: BigInt64Array;
    if (handOver(length, this.capacity)) {
      data = this.values.subarray(0, length);
      this.capacity = this.initial;
      this.values = new BigInt64Array(this.capacity);
      this.words = new Int32Array(this.values.buffer);
    } else data = this.values.slice(0, length);
    return { data, nullBitmap, nullCount };
  }
}

/** Int64 values. */
export class I64Builder extends Int64WordsBuilder implements ColumnBuilder {
  readonly type = new Int64();

  finish(length: number): Data<Int64> {
    return makeData({ type: this.type, length, ...this.take(length) });
  }
}

/** Timestamp(MICROSECOND, 'UTC') values, written as µs numbers. */
export class TimestampBuilder extends Int64WordsBuilder implements ColumnBuilder {
  readonly type = new TimestampMicrosecond('UTC');

  finish(length: number): Data<TimestampMicrosecond> {
    return makeData({ type: this.type, length, ...this.take(length) });
  }
}

/** Booleans, bit-packed as Arrow stores them. */
export class BoolBuilder implements ColumnBuilder {
  readonly type = new Bool();
  capacity: number;
  private values: Uint8Array;
  private readonly validity = new Validity();
  private readonly initial: number;

  constructor(capacity: number) {
    this.initial = this.capacity = nextCapacity(capacity, 0);
    this.values = new Uint8Array((this.capacity + 7) >> 3);
  }

  set(i: number, v: boolean): void {
    if (v) this.values[i >> 3] |= 1 << (i & 7);
    else this.values[i >> 3] &= ~(1 << (i & 7));
    this.validity.markValid(i);
  }

  setNull(i: number): void {
    this.values[i >> 3] &= ~(1 << (i & 7));
    this.validity.markNull(i, this.capacity);
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = nextCapacity(this.capacity, rows);
    const values = new Uint8Array((this.capacity + 7) >> 3);
    values.set(this.values);
    this.values = values;
    this.validity.grow(this.capacity);
  }

  finish(length: number): Data<Bool> {
    const { nullBitmap, nullCount } = this.validity.take(length);
    const bytes = (length + 7) >> 3;
    let data: Uint8Array;
    if (handOver(length, this.capacity)) {
      data = this.values.subarray(0, bytes);
      this.capacity = this.initial;
      this.values = new Uint8Array((this.capacity + 7) >> 3);
    } else data = this.values.slice(0, bytes);
    return makeData({ type: this.type, length, data, nullBitmap, nullCount });
  }
}

/**
 * UTF-8 bytes of `s` written at `pos` of `bytes` (which has room for 3 bytes per UTF-16 unit);
 * returns the end position. Short ASCII strings, the common case, are copied by hand: cheaper
 * than a native call per value.
 */
function writeUtf8(bytes: Uint8Array, pos: number, s: string, encoder: TextEncoder): number {
  const n = s.length;
  if (n <= 32) {
    let j = 0;
    for (; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c >= 0x80) break;
      bytes[pos + j] = c;
    }
    if (j === n) return pos + n;
    return pos + j + encoder.encodeInto(s.slice(j), bytes.subarray(pos + j)).written;
  }
  return pos + encoder.encodeInto(s, bytes.subarray(pos)).written;
}

/** Utf8 values: Int32 offsets plus one byte buffer. */
export class Utf8Builder implements ColumnBuilder {
  readonly type = new Utf8();
  capacity: number;
  private offsets: Int32Array;
  private bytes: Uint8Array;
  private readonly validity = new Validity();
  private readonly initial: number;
  private readonly encoder = new TextEncoder();

  constructor(capacity: number, bytesPerRow = 16) {
    this.initial = this.capacity = nextCapacity(capacity, 0);
    this.offsets = new Int32Array(this.capacity + 1);
    this.bytes = new Uint8Array(this.capacity * bytesPerRow);
  }

  set(i: number, s: string): void {
    const start = this.offsets[i];
    const need = start + s.length * 3;
    if (need > this.bytes.length) this.growBytes(need);
    this.offsets[i + 1] = writeUtf8(this.bytes, start, s, this.encoder);
    this.validity.markValid(i);
  }

  setNull(i: number): void {
    this.offsets[i + 1] = this.offsets[i];
    this.validity.markNull(i, this.capacity);
  }

  private growBytes(need: number): void {
    let size = Math.max(this.bytes.length, 64);
    while (size < need) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes);
    this.bytes = bytes;
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = nextCapacity(this.capacity, rows);
    const offsets = new Int32Array(this.capacity + 1);
    offsets.set(this.offsets);
    this.offsets = offsets;
    this.validity.grow(this.capacity);
  }

  finish(length: number): Data<Utf8> {
    const { nullBitmap, nullCount } = this.validity.take(length);
    const end = this.offsets[length];
    let valueOffsets: Int32Array;
    let data: Uint8Array;
    if (handOver(length, this.capacity) || end * 2 >= this.bytes.length) {
      valueOffsets = this.offsets.subarray(0, length + 1);
      data = this.bytes.subarray(0, end);
      const bytesPerRow = Math.max(1, Math.ceil(end / Math.max(1, length)));
      this.capacity = this.initial;
      this.offsets = new Int32Array(this.capacity + 1);
      this.bytes = new Uint8Array(this.capacity * bytesPerRow);
    } else {
      valueOffsets = this.offsets.slice(0, length + 1);
      data = this.bytes.slice(0, end);
    }
    return makeData({ type: this.type, length, valueOffsets, data, nullBitmap, nullCount });
  }
}

/** Dictionary entries appended since the last chunk was cut, encoded as one Utf8 chunk. */
function utf8Chunk(strings: readonly string[], from: number, to: number): Data<Utf8> {
  const encoder = new TextEncoder();
  let room = 0;
  for (let k = from; k < to; k++) room += strings[k].length * 3;
  const bytes = new Uint8Array(room);
  const offsets = new Int32Array(to - from + 1);
  let pos = 0;
  for (let k = from; k < to; k++) {
    pos = writeUtf8(bytes, pos, strings[k], encoder);
    offsets[k - from + 1] = pos;
  }
  return makeData({ type: new Utf8(), length: to - from, valueOffsets: offsets, data: bytes.slice(0, pos) });
}

/** Chunks kept before the dictionary is re-cut as one chunk (a full, non-delta dictionary). */
const MAX_DICTIONARY_CHUNKS = 64;

/**
 * Dictionary<Utf8, Int32> values with one dictionary for the life of the builder (the stream):
 * codes are stable, the dictionary only grows. Each batch carries the whole dictionary so far as
 * a chunked vector whose earlier chunks are shared with earlier batches, so an Arrow IPC writer
 * sends only the new entries (dictionary deltas).
 */
export class SymbolBuilder implements ColumnBuilder {
  readonly type: Dictionary<Utf8, Int32>;
  capacity: number;
  private codes: Int32Array;
  private readonly validity = new Validity();
  private readonly initial: number;
  private readonly index = new Map<string, number>();
  private readonly strings: string[] = [];
  private chunks: Data<Utf8>[] = [];
  private chunked = 0;
  private dictionary: Vector<Utf8> | null = null;

  constructor(capacity: number) {
    this.type = new Dictionary(new Utf8(), new Int32());
    this.initial = this.capacity = nextCapacity(capacity, 0);
    this.codes = new Int32Array(this.capacity);
  }

  /** Entries in the dictionary so far. */
  get size(): number {
    return this.strings.length;
  }

  /** Code of `s`, adding it to the dictionary when new. */
  code(s: string): number {
    let c = this.index.get(s);
    if (c === undefined) {
      c = this.strings.length;
      this.index.set(s, c);
      this.strings.push(s);
    }
    return c;
  }

  set(i: number, s: string): void {
    this.codes[i] = this.code(s);
    this.validity.markValid(i);
  }

  setNull(i: number): void {
    this.codes[i] = 0;
    this.validity.markNull(i, this.capacity);
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = nextCapacity(this.capacity, rows);
    const codes = new Int32Array(this.capacity);
    codes.set(this.codes);
    this.codes = codes;
    this.validity.grow(this.capacity);
  }

  private dictionaryVector(): Vector<Utf8> {
    const n = this.strings.length;
    if (this.dictionary !== null && this.chunked === n) return this.dictionary;
    if (n > this.chunked) {
      if (this.chunks.length >= MAX_DICTIONARY_CHUNKS) this.chunks = [utf8Chunk(this.strings, 0, n)];
      else this.chunks = [...this.chunks, utf8Chunk(this.strings, this.chunked, n)];
      this.chunked = n;
    }
    const chunks = this.chunks.length > 0 ? this.chunks : [utf8Chunk(this.strings, 0, 0)];
    this.dictionary = new Vector(chunks);
    return this.dictionary;
  }

  finish(length: number): Data<Dictionary<Utf8, Int32>> {
    const { nullBitmap, nullCount } = this.validity.take(length);
    let data: Int32Array;
    if (handOver(length, this.capacity)) {
      data = this.codes.subarray(0, length);
      this.capacity = this.initial;
      this.codes = new Int32Array(this.capacity);
    } else data = this.codes.slice(0, length);
    return makeData({
      type: this.type,
      length,
      data,
      nullBitmap,
      nullCount,
      dictionary: this.dictionaryVector(),
    });
  }
}
