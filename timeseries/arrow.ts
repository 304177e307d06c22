/**
 * Glue between Arrow tables and the pure kernels: columns out as typed arrays, results back in
 * as Arrow vectors, zero-copy where the layout allows. Kernels never import this file's deps.
 */
import {
  Bool,
  BufferType,
  Data,
  DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  TimeUnit,
  type TypeMap,
  Uint32,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { float64ToInt64, int64ToFloat64 } from './kernels/int64.ts';

export type Columnar = Table | RecordBatch;

function columnOf(t: Columnar, name: string): Vector {
  const v = t.getChild(name);
  if (!v)
    throw new Error(
      `column "${name}" not found; columns are: ${t.schema.fields.map((f) => f.name).join(', ')}`,
    );
  return v;
}

/** Concatenate the chunks of a column's data into one contiguous typed array. */
function concatValues<T extends Float64Array | Int32Array | BigInt64Array>(
  v: Vector,
  Ctor: { new (n: number): T },
): T {
  if (v.data.length === 1) {
    const d = v.data[0];
    return d.values.subarray(0, d.length) as T;
  }
  const out = new Ctor(v.length);
  let o = 0;
  for (const d of v.data) {
    out.set(d.values.subarray(0, d.length), o);
    o += d.length;
  }
  return out;
}

/** A timestamp (or int64) column as µs in a Float64Array; exact below 2^53; nulls become NaN. */
export function timestampsUs(t: Columnar, name: string): Float64Array {
  const v = columnOf(t, name);
  const type = v.type;
  if (DataType.isTimestamp(type)) {
    const unit = (type as any).unit as TimeUnit;
    const raw = concatValues(v, BigInt64Array as any) as unknown as BigInt64Array;
    const f = int64ToFloat64(raw);
    if (unit !== TimeUnit.MICROSECOND) {
      const scale = unit === TimeUnit.SECOND ? 1e6 : unit === TimeUnit.MILLISECOND ? 1e3 : 1e-3;
      for (let i = 0; i < f.length; i++) f[i] = scale < 1 ? Math.floor(f[i] * scale) : f[i] * scale;
    }
    return markNulls(v, f);
  }
  if (type instanceof Int64)
    return markNulls(v, int64ToFloat64(concatValues(v, BigInt64Array as any) as unknown as BigInt64Array));
  if (type instanceof Float64) return float64Column(t, name);
  throw new Error(`column "${name}" is ${type}, expected a timestamp`);
}

/** A numeric column as Float64Array; nulls become NaN. */
export function float64Column(t: Columnar, name: string): Float64Array {
  const v = columnOf(t, name);
  let out: Float64Array;
  if (v.type instanceof Float64)
    out = v.nullCount === 0 ? concatValues(v, Float64Array) : new Float64Array(concatValues(v, Float64Array));
  else if (v.type instanceof Int64)
    out = int64ToFloat64(concatValues(v, BigInt64Array as any) as unknown as BigInt64Array);
  else {
    out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v.get(i);
      out[i] = x == null ? Number.NaN : Number(x);
    }
    return out;
  }
  return markNulls(v, out);
}

/** Set NaN in `out` (a copy, never an Arrow buffer) at the null slots of `v`. */
function markNulls(v: Vector, out: Float64Array): Float64Array {
  if (v.nullCount === 0) return out;
  let o = 0;
  for (const d of v.data) {
    if (d.nullCount > 0) for (let i = 0; i < d.length; i++) if (!d.getValid(i)) out[o + i] = Number.NaN;
    o += d.length;
  }
  return out;
}

/**
 * A key column as Int32 codes plus its dictionary. Dictionary-encoded columns are read as they
 * are (all chunks must share one growing dictionary, as the decoder writes them); plain utf8
 * columns are encoded here, once.
 */
export function keyCodes(t: Columnar, name: string): { codes: Int32Array; dictionary: string[] } {
  const v = columnOf(t, name);
  if (v.type instanceof Dictionary) {
    const last = v.data[v.data.length - 1];
    const dictVec = last.dictionary!;
    const dictionary: string[] = new Array(dictVec.length);
    for (let i = 0; i < dictVec.length; i++) dictionary[i] = dictVec.get(i) as string;
    return { codes: concatValues(v, Int32Array), dictionary };
  }
  const codes = new Int32Array(v.length);
  const index = new Map<string, number>();
  const dictionary: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s = String(v.get(i));
    let c = index.get(s);
    if (c === undefined) {
      c = dictionary.length;
      index.set(s, c);
      dictionary.push(s);
    }
    codes[i] = c;
  }
  return { codes, dictionary };
}

/** Validity bitmap (LSB order) from a mask of valid slots; undefined when all are valid. */
export function validityBitmap(valid: Uint8Array): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  const bitmap = new Uint8Array((valid.length + 7) >> 3);
  for (let i = 0; i < valid.length; i++) {
    if (valid[i]) bitmap[i >> 3] |= 1 << (i & 7);
    else nullCount++;
  }
  return { bitmap: nullCount === 0 ? undefined : bitmap, nullCount };
}

/** A Float64 vector over `values` (zero-copy); NaN stays NaN unless `valid` marks nulls. */
export function float64Vector(values: Float64Array, valid?: Uint8Array): Vector<Float64> {
  const { bitmap, nullCount } = valid ? validityBitmap(valid) : { bitmap: undefined, nullCount: 0 };
  return makeVector(
    makeData({ type: new Float64(), length: values.length, data: values, nullBitmap: bitmap, nullCount }),
  );
}

/** A Float64 vector where NaN means null (aggregates of empty or all-null input). */
export function float64VectorNaNAsNull(values: Float64Array): Vector<Float64> {
  const valid = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) valid[i] = Number.isNaN(values[i]) ? 0 : 1;
  return float64Vector(values, valid);
}

export function int64Vector(values: Float64Array | number[], valid?: Uint8Array): Vector<Int64> {
  const data = float64ToInt64(values as Float64Array);
  const { bitmap, nullCount } = valid ? validityBitmap(valid) : { bitmap: undefined, nullCount: 0 };
  return makeVector(
    makeData({ type: new Int64(), length: data.length, data, nullBitmap: bitmap, nullCount }),
  );
}

export function uint32Vector(values: Uint32Array): Vector<Uint32> {
  return makeVector(makeData({ type: new Uint32(), length: values.length, data: values }));
}

export function boolVector(values: Uint8Array): Vector<Bool> {
  const bits = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (values[i]) bits[i >> 3] |= 1 << (i & 7);
  return makeVector(makeData({ type: new Bool(), length: values.length, data: bits }));
}

/** A timestamp[µs, UTC] vector from µs in float64 (exact below 2^53). */
export function timestampVector(us: Float64Array, valid?: Uint8Array): Vector<TimestampMicrosecond> {
  const data = float64ToInt64(us);
  const { bitmap, nullCount } = valid ? validityBitmap(valid) : { bitmap: undefined, nullCount: 0 };
  return makeVector(
    makeData({
      type: new TimestampMicrosecond('UTC'),
      length: data.length,
      data,
      nullBitmap: bitmap,
      nullCount,
    }),
  );
}

/**
 * A dictionary-encoded utf8 vector (Int32 codes) over the given dictionary; `valid` (1 = valid)
 * marks null rows, whose codes are ignored.
 */
export function dictionaryVector(
  codes: Int32Array,
  dictionary: readonly string[],
  id = -1,
  valid?: Uint8Array,
): Vector<Dictionary<Utf8, Int32>> {
  const dictVec = vectorFromArray(dictionary as string[], new Utf8());
  const type = new Dictionary(new Utf8(), new Int32(), id >= 0 ? id : undefined);
  const { bitmap, nullCount } = valid ? validityBitmap(valid) : { bitmap: undefined, nullCount: 0 };
  return makeVector(
    makeData({ type, length: codes.length, data: codes, nullBitmap: bitmap, nullCount, dictionary: dictVec }),
  );
}

/** Build a table from named vectors of equal length, in order. */
export function tableFromVectors(columns: Record<string, Vector>): Table {
  return new Table(columns);
}

/** Build one record batch from named vectors of equal length (single-chunk vectors). */
export function recordBatchFromVectors(columns: Record<string, Vector>): RecordBatch {
  const fields: Field[] = [];
  const children: Data[] = [];
  let length = 0;
  for (const [name, v] of Object.entries(columns)) {
    fields.push(new Field(name, v.type, true));
    const d = v.data.length === 1 ? v.data[0] : makeVector(v.toArray()).data[0];
    children.push(d);
    length = d.length;
  }
  const schema = new Schema(fields);
  const data = makeData({ type: new Struct(fields), length, children, nullCount: 0 });
  return new RecordBatch(schema, data as Data<Struct<TypeMap>>);
}

const NO_NULLS = new Uint8Array(0);

/**
 * `new Data` with the buffers `makeData` would make (an empty validity buffer when nothing is
 * null, shared: Arrow never writes into a zero-length bitmap, it allocates a new one): `makeData`
 * costs ~1 µs a call through its visitor, the constructor ~0.1 µs, which counts for code that
 * builds a batch per few thousand rows.
 */
export function leafData(
  type: DataType,
  length: number,
  values: ArrayBufferView,
  bitmap: Uint8Array | undefined,
  nullCount: number,
  dictionary?: Vector,
): Data {
  return new Data(
    type,
    0,
    length,
    nullCount,
    { [BufferType.DATA]: values, [BufferType.VALIDITY]: bitmap ?? NO_NULLS },
    [],
    dictionary,
  );
}

/**
 * A record batch of `schema` over one data per field, each of `length` rows and of its field's
 * type, with `struct` the `Struct` of the schema's fields (made once by the caller). The result is
 * what `new RecordBatch(schema, data)` gives, but the constructor rebuilds the schema for every
 * batch (each field cloned, metadata maps merged), to fix children whose length differs from the
 * batch's: about 20 ms of the streaming as-of bench's 1,500 batches. Here the lengths are the
 * caller's invariant, so the batch is made over the schema as it is (the fields RecordBatch's
 * constructor sets, in order).
 */
export function recordBatchOf(schema: Schema, struct: Struct, children: Data[], length: number): RecordBatch {
  const data = new Data(struct, 0, length, 0, { [BufferType.VALIDITY]: NO_NULLS }, children);
  const batch = Object.create(RecordBatch.prototype) as {
    schema: Schema;
    data: Data<Struct>;
    _metadata: Map<string, string>;
  };
  batch.schema = schema;
  batch.data = data;
  batch._metadata = new Map();
  return batch as unknown as RecordBatch;
}
