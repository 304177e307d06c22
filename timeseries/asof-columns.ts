/**
 * Arrow glue shared by the batch and streaming as-of joins: `on` columns as float64, `by` columns
 * as dense key ids shared by both sides, and right columns gathered by row index into Arrow
 * vectors with validity. The kernels it calls are pure (timeseries/kernels/asof*.ts).
 */
import {
  type Data,
  DataType,
  Dictionary,
  makeData,
  makeVector,
  RecordBatch,
  type Schema,
  Struct,
  Table,
  TimeUnit,
  type TypeMap,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { PolaroidError } from '../pipeline/errors.ts';
import { float64Column, timestampsUs } from './arrow.ts';
import {
  type Bits,
  gatherBits,
  gatherFloat64,
  gatherValidity,
  gatherValues,
  gatherValuesMulti,
  gatherWords64,
  gatherWords64InPlace,
  gatherWords64Multi,
} from './kernels/asof-gather.ts';

type Columnar = Table | RecordBatch;

/** Configuration problems (missing column, bad tolerance, clashing names). */
export class AsofConfigError extends PolaroidError {
  readonly code = 'ASOF_CONFIG';
  readonly retriable = false;
  constructor(message: string) {
    super(`asof_join: ${message}`);
  }
}

export function columnOf(t: Columnar, name: string, side: 'left' | 'right'): Vector {
  const v = t.getChild(name);
  if (!v)
    throw new AsofConfigError(
      `${side} column "${name}" not found; ${side} columns are: ${t.schema.fields.map((f) => f.name).join(', ') || '(none)'}`,
    );
  return v;
}

/** µs per unit of a timestamp column (its physical unit), or undefined for plain numbers. */
export function timestampScale(type: DataType): number | undefined {
  if (!DataType.isTimestamp(type)) return undefined;
  const unit = (type as any).unit as TimeUnit;
  return unit === TimeUnit.SECOND
    ? 1e6
    : unit === TimeUnit.MILLISECOND
      ? 1e3
      : unit === TimeUnit.MICROSECOND
        ? 1
        : 1e-3;
}

/**
 * An `on` column as float64: timestamps in µs, numbers as they are; nulls become NaN (never
 * matched). The source column is never written to.
 */
export function onValues(t: Columnar, name: string, side: 'left' | 'right'): Float64Array {
  const v = columnOf(t, name, side);
  const type = v.type;
  const numeric =
    DataType.isTimestamp(type) || DataType.isInt(type) || DataType.isFloat(type) || DataType.isDate(type);
  if (!numeric)
    throw new AsofConfigError(`${side} on column "${name}" is ${type}; expected a timestamp or a number`);
  if (DataType.isFloat(type) || !(DataType.isTimestamp(type) || (type as any).bitWidth === 64))
    return float64Column(t, name);
  return timestampsUs(t, name);
}

/**
 * An `on` column for the batch kernel: a µs timestamp or int64 column of one chunk without nulls
 * as its int64 values (zero-copy), anything else as {@link onValues}.
 */
export function onRaw(t: Columnar, name: string, side: 'left' | 'right'): Float64Array | BigInt64Array {
  const v = columnOf(t, name, side);
  const type = v.type;
  const int64 =
    (DataType.isTimestamp(type) && timestampScale(type) === 1) ||
    (DataType.isInt(type) && (type as any).bitWidth === 64 && (type as any).isSigned);
  if (int64 && v.data.length === 1 && v.nullCount === 0 && v.data[0].values instanceof BigInt64Array)
    return v.data[0].values;
  return onValues(t, name, side);
}

const TUPLE_RADIX = 2 ** 26;

/**
 * Dense key ids for one or more `by` columns, shared by the two sides of a join and stable across
 * batches: the same tuple of values always gets the same id. A null in any key column gives -1.
 * Dictionary columns are mapped once per dictionary entry, so the per-row cost is an array read.
 */
export class KeyEncoder {
  private readonly valueIds: Map<unknown, number>[];
  private readonly tupleIds: Map<number, number>[];
  private readonly dictCache = new WeakMap<object, Int32Array>();

  constructor(readonly width: number) {
    this.valueIds = Array.from({ length: width }, () => new Map());
    this.tupleIds = Array.from({ length: Math.max(0, width - 1) }, () => new Map());
  }

  /** Number of ids handed out so far (ids are `0..size-1`). */
  get size(): number {
    return this.width === 1 ? this.valueIds[0].size : this.tupleIds[this.width - 2].size;
  }

  private valueId(col: number, v: unknown): number {
    const m = this.valueIds[col];
    let id = m.get(v);
    if (id === undefined) {
      id = m.size;
      m.set(v, id);
    }
    return id;
  }

  private dictionaryIds(col: number, dict: Vector): Int32Array {
    let ids = this.dictCache.get(dict);
    if (ids === undefined) {
      ids = new Int32Array(dict.length);
      for (let i = 0; i < dict.length; i++) {
        const v = dict.get(i);
        ids[i] = v == null ? -1 : this.valueId(col, v);
      }
      this.dictCache.set(dict, ids);
    }
    return ids;
  }

  private columnIds(col: number, v: Vector, mayAlias: boolean): Int32Array {
    if (mayAlias && v.data.length === 1 && v.type instanceof Dictionary && v.nullCount === 0) {
      const d = v.data[0];
      const ids = this.dictionaryIds(col, d.dictionary!);
      let identity = true;
      for (let i = 0; i < ids.length && identity; i++) identity = ids[i] === i;
      if (identity && d.values instanceof Int32Array) return d.values;
    }
    const out = new Int32Array(v.length);
    let o = 0;
    for (const d of v.data) {
      if (v.type instanceof Dictionary && d.dictionary) {
        const ids = this.dictionaryIds(col, d.dictionary);
        const codes = d.values as Int32Array;
        for (let i = 0; i < d.length; i++) out[o + i] = ids[codes[i]];
        if (d.nullCount > 0) for (let i = 0; i < d.length; i++) if (!d.getValid(i)) out[o + i] = -1;
      } else {
        const vec = makeVector(d);
        for (let i = 0; i < d.length; i++) {
          const x = vec.get(i);
          out[o + i] = x == null ? -1 : this.valueId(col, typeof x === 'object' ? String(x) : x);
        }
      }
      o += d.length;
    }
    return out;
  }

  /**
   * Key ids of the rows of `t` for the given key columns (in `by` order). The result may alias a
   * dictionary column's codes (when they already are the ids): treat it as read-only.
   */
  encode(t: Columnar, names: readonly string[], side: 'left' | 'right'): Int32Array {
    const acc = this.columnIds(0, columnOf(t, names[0], side), this.width === 1);
    for (let c = 1; c < this.width; c++) {
      const next = this.columnIds(c, columnOf(t, names[c], side), true);
      const m = this.tupleIds[c - 1];
      for (let i = 0; i < acc.length; i++) {
        const a = acc[i];
        const b = next[i];
        if (a < 0 || b < 0) {
          acc[i] = -1;
          continue;
        }
        const key = a * TUPLE_RADIX + b;
        let id = m.get(key);
        if (id === undefined) {
          id = m.size;
          m.set(key, id);
        }
        acc[i] = id;
      }
    }
    return acc;
  }

  /** A readable form of a key id, for error messages: `symbol=BTC-USD, venue=X`. */
  describe(id: number, names: readonly string[]): string {
    const parts: number[] = [id];
    for (let c = this.width - 1; c >= 1; c--) {
      const pair = findKey(this.tupleIds[c - 1], parts[0]);
      parts.splice(0, 1, Math.floor(pair / TUPLE_RADIX), pair % TUPLE_RADIX);
    }
    return parts.map((p, c) => `${names[c]}=${String(findKey(this.valueIds[c], p))}`).join(', ');
  }
}

function findKey<K>(m: Map<K, number>, id: number): K {
  for (const [k, v] of m) if (v === id) return k;
  throw new Error(`unknown key id ${id}`);
}

/** One right column as its chunks, for gathering. */
export interface ColumnChunks {
  type: DataType;
  chunks: readonly Data[];
}

function bitsOf(d: Data): Bits {
  return { bits: d.nullCount > 0 ? (d.nullBitmap ?? undefined) : undefined, offset: d.offset };
}

function sameDictionaryPrefix(a: Vector, b: Vector): boolean {
  if (a === b) return true;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.get(i) !== b.get(i)) return false;
  return true;
}

/** Validity of "a row was matched" (`row >= 0`), shared by every null-free right column. */
export interface MatchValidity {
  bitmap: Uint8Array | undefined;
  nullCount: number;
}

export function matchValidity(row: Int32Array): MatchValidity {
  return gatherValidity([{ bits: undefined, offset: 0 }], undefined, row);
}

/**
 * Gather rows of a column into a new vector. With one chunk `slot` may be undefined; `row[i] < 0`
 * gives null. Fixed-width values are copied by typed-array kernels (64-bit as word pairs);
 * dictionaries keep their codes over the latest (growing) dictionary; other types go through
 * `get()`.
 */
export function gatherColumn(
  col: ColumnChunks,
  slot: Int32Array | undefined,
  row: Int32Array,
  matched?: MatchValidity,
): Vector {
  const { type, chunks } = col;
  const n = row.length;
  const single = chunks.length === 1 || slot === undefined;
  if (chunks.length === 0) return vectorFromArray(new Array(n).fill(null), type as any);
  const srcBits = chunks.map(bitsOf);
  const { bitmap: nullBitmap, nullCount } =
    matched && srcBits.every((b) => b.bits === undefined)
      ? matched
      : gatherValidity(srcBits, single ? undefined : slot, row);
  if (DataType.isDictionary(type)) {
    let dict = chunks[chunks.length - 1].dictionary!;
    for (const c of chunks) if (c.dictionary && c.dictionary.length > dict.length) dict = c.dictionary;
    const compatible = chunks.every((c) => c.dictionary && sameDictionaryPrefix(c.dictionary, dict));
    if (compatible) {
      const codes = gatherTyped(chunks, single, slot, row, chunks[0].values);
      return makeVector(
        makeData({ type: type as any, length: n, data: codes, dictionary: dict, nullBitmap, nullCount }),
      );
    }
  } else if (DataType.isBool(type)) {
    const data = gatherBits(
      chunks.map((c) => ({ bits: c.values as Uint8Array, offset: c.offset })),
      single ? undefined : slot,
      row,
    );
    return makeVector(makeData({ type: type as any, length: n, data, nullBitmap, nullCount }));
  } else if (isFixedWidth(type)) {
    const data = gatherTyped(chunks, single, slot, row, chunks[0].values);
    return makeVector(makeData({ type: type as any, length: n, data, nullBitmap, nullCount }));
  }
  const vecs = chunks.map((c) => makeVector(c));
  const values: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const j = row[i];
    values[i] = j < 0 ? null : vecs[single ? 0 : slot![i]].get(j);
  }
  return vectorFromArray(values, type as any);
}

/**
 * Whether the gathered values of this column can take the place of the match indices: a 64-bit
 * fixed-width column of one chunk, whose output buffer (8 bytes a row) can hold the Int32 indices
 * in its first half (see {@link gatherColumnInPlace}).
 */
export function canHostIndices(col: ColumnChunks): boolean {
  const { type, chunks } = col;
  return (
    chunks.length === 1 &&
    !DataType.isDictionary(type) &&
    isFixedWidth(type) &&
    (chunks[0].values as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT === 8
  );
}

/**
 * {@link gatherColumn} for a column accepted by {@link canHostIndices}, where `row` is an Int32 view
 * over the first half of a buffer of 8 bytes a row: the values are gathered into that buffer, over
 * the indices, so `row` is consumed (gather every other column first). Saves allocating (and
 * faulting in) a separate index array.
 */
export function gatherColumnInPlace(col: ColumnChunks, row: Int32Array, matched?: MatchValidity): Vector {
  const { type, chunks } = col;
  const n = row.length;
  const src = chunks[0];
  const srcBits = bitsOf(src);
  const { bitmap: nullBitmap, nullCount } =
    matched && srcBits.bits === undefined ? matched : gatherValidity([srcBits], undefined, row);
  const values = src.values as { buffer: ArrayBufferLike; byteOffset: number; length: number };
  const words = new Int32Array(row.buffer, row.byteOffset, 2 * n);
  gatherWords64InPlace(new Int32Array(values.buffer, values.byteOffset, values.length * 2), words, n);
  const Ctor = (src.values as any).constructor;
  const data = new Ctor(row.buffer, row.byteOffset, n);
  return makeVector(makeData({ type: type as any, length: n, data, nullBitmap, nullCount }));
}

/**
 * How the fused backward merge copies a right column (kernels/asof-fused.ts): by element width,
 * for a fixed-width column of one chunk without nulls; undefined for every other column, which is
 * gathered by row index afterwards (dictionaries, booleans, strings, columns with nulls).
 */
export function fusedKind(col: ColumnChunks): 'f64' | 'w64' | 'w32' | 'w16' | 'w8' | undefined {
  const { type, chunks } = col;
  if (chunks.length !== 1 || chunks[0].nullCount > 0) return undefined;
  if (DataType.isDictionary(type) || !isFixedWidth(type)) return undefined;
  const values = chunks[0].values;
  if (values instanceof Float64Array) return 'f64';
  const bytes = (values as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT;
  return bytes === 8 ? 'w64' : bytes === 4 ? 'w32' : bytes === 2 ? 'w16' : bytes === 1 ? 'w8' : undefined;
}

function isFixedWidth(type: DataType): boolean {
  return (
    DataType.isInt(type) ||
    DataType.isFloat(type) ||
    DataType.isTimestamp(type) ||
    DataType.isDate(type) ||
    DataType.isTime(type) ||
    DataType.isDuration(type)
  );
}

function gatherTyped(
  chunks: readonly Data[],
  single: boolean,
  slot: Int32Array | undefined,
  row: Int32Array,
  sample: any,
): any {
  const n = row.length;
  const Ctor = sample.constructor as any;
  if (sample instanceof Float64Array && single) return gatherFloat64(chunks[0].values as Float64Array, row);
  if (sample.BYTES_PER_ELEMENT === 8 && !(sample instanceof Float64Array)) {
    const words = (d: Data) => new Int32Array(d.values.buffer, d.values.byteOffset, d.values.length * 2);
    const out = single
      ? gatherWords64(words(chunks[0]), row)
      : gatherWords64Multi(chunks.map(words), slot!, row);
    return new Ctor(out.buffer, 0, n);
  }
  if (single) return gatherValues(chunks[0].values as any, row, new Ctor(n));
  return gatherValuesMulti(
    chunks.map((c) => c.values as any),
    slot!,
    row,
    new Ctor(n),
  );
}

/** The data chunks of a column across the record batches of a table. */
export function chunksOf(t: Columnar, name: string): ColumnChunks {
  const v = t.getChild(name)!;
  return { type: v.type, chunks: v.data };
}

/** A record batch from named vectors (each with one chunk) and an explicit schema. */
export function batchFrom(schema: Schema, columns: readonly Vector[], length: number): RecordBatch {
  return batchFromData(
    schema,
    columns.map((v) => (v.data.length === 1 ? v.data[0] : makeVector(v.toArray()).data[0])),
    length,
  );
}

/** A record batch from one data chunk per field and an explicit schema. */
export function batchFromData(schema: Schema, children: Data[], length: number): RecordBatch {
  const data = makeData({ type: new Struct(schema.fields), length, children, nullCount: 0 });
  return new RecordBatch(schema, data as Data<Struct<TypeMap>>);
}

/** A table from an explicit schema and one vector per field (left vectors may be chunked). */
export function tableFrom(schema: Schema, columns: readonly Vector[]): Table {
  const cols: Record<string, Vector> = {};
  schema.fields.forEach((f, i) => {
    cols[f.name] = columns[i];
  });
  return new Table(cols);
}
