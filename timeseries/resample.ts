/**
 * `resampleOhlcv`: trades → OHLCV bars on an Arrow table (Polars `group_by_dynamic` windows with
 * QuestDB `SAMPLE BY` fill and alignment). The streaming twin is `resampleOhlcvStream`.
 *
 * @example
 * ```ts
 * const bars = resampleOhlcv(trades, { every: '1m', by: 'symbol' });
 * // symbol, ts, open, high, low, close, volume, vwap, trades
 * ```
 *
 * Semantics (what we chose where Polars and QuestDB leave room):
 *
 * - **Windows** are Polars' `group_by_dynamic` windows with `start_by='window'`: window k covers
 *   [start_k, start_k + period) (`closed` picks the included ends), start_k = k·every + offset on
 *   the grid, and every window that holds at least one row is emitted, including windows that
 *   start before the first row when `period > every` or `closed` is right. Checked against
 *   nodejs-polars on random data.
 * - **Time zones** (`timeZone`, default UTC): strides of days, weeks (Monday) and months follow
 *   the zone's local calendar (23 h and 25 h days at DST changes); `offset` and `period` shift the
 *   local wall clock there. Fixed strides (`1s`…`36h`) are uniform in UTC and anchored at the
 *   zone's standard offset, as QuestDB does (Polars anchors at UTC; the two agree for UTC and for
 *   whole-hour zones with strides dividing an hour). Bar times stay UTC. See kernels/calendar.ts.
 * - **`align: 'first_observation'`**: the grid starts at the earliest time with a price (offset
 *   ignored); days and weeks count as 24 h and 168 h; months are refused.
 * - **Aggregates**: open/close are the price of the first/last row in time (equal times keep row
 *   order), high/low the extremes, volume Σ size, vwap Σ(price·size)/Σ size, trades the row count,
 *   first_ts/last_ts their event times.
 * - **Nulls** (or NaN): a row whose price is null is ignored (a null time is an error here; the
 *   streaming operator ignores such rows and counts them). Rows with a null key form a key of
 *   their own, whose bars have a null key (Polars and QuestDB group them too). A null size makes a trade
 *   with no volume (counted in trades, not in volume or vwap); vwap is null when the volume is 0.
 * - **Fill** (empty windows between a key's first and last bar, never before or after):
 *   `null` nulls the prices; `prev` repeats each price aggregate of the previous bar (QuestDB
 *   `FILL(PREV)`, not a flat bar at the last close); `linear` interpolates each price aggregate
 *   between the surrounding bars by window start; a number sets every price aggregate. Filled bars
 *   have volume 0, trades 0, and null first_ts/last_ts.
 * - **Order**: by key (stream-level key code: first appearance, or dictionary order for
 *   dictionary columns), then time, like Polars; `order: 'time_key'` sorts by time then key.
 * - **Input**: the time column must be sorted ascending within each key (an error names the
 *   column, the key and the row) and have no nulls.
 * - **Threads**: a large table in shared memory is split over the worker pool (see
 *   `parallelBars` below and docs/resample.md); the bars are the same, except the last bits of
 *   volume and vwap in windows cut by a range boundary.
 */
import {
  Bool,
  type Data,
  DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  type RecordBatch,
  Schema,
  Struct,
  type Table,
  TimestampMicrosecond,
  TimeUnit,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { PolaroidError } from '../pipeline/errors.ts';
import {
  boolVector,
  type Columnar,
  float64Column,
  float64Vector,
  float64VectorNaNAsNull,
  int64Vector,
  keyCodes,
  leafData,
  recordBatchOf,
  tableFromVectors,
  timestampsUs,
  timestampVector,
  validityBitmap,
} from './arrow.ts';
import type { Align } from './kernels/calendar.ts';
import { float64ToInt64, setInt64 } from './kernels/int64.ts';
import {
  type BarBuffer,
  type Closed,
  type Fill,
  type Label,
  orderBars,
  ResampleEngine,
  UnsortedInputError,
} from './kernels/resample.ts';
import { mergePartBars, sortedAcrossParts } from './kernels/resample-merge.ts';
import { parallelism, runTasks } from './parallel/pool.ts';
import type { ResamplePart, ResamplePartResult, ResampleSegment } from './parallel/resample-task.ts';
import { isSharedVector, shareTable, toShared } from './parallel/shared.ts';

export { WindowConfigError } from './kernels/calendar.ts';
export type { Align, Closed, Fill, Label };

/** Options of {@link resampleOhlcv}, named as Polars `group_by_dynamic` names them. */
export interface ResampleOptions {
  /** Window stride: `1s`, `1m`, `1h`, `1d`, `1w` (Monday weeks), `1mo`, … */
  every: string;
  /** Window length; defaults to `every`. Longer than `every` gives overlapping windows. */
  period?: string;
  /** Shift of the window grid; defaults to 0. Ignored with `align: 'first_observation'`. */
  offset?: string;
  /** Which window ends include their boundary; default `left` ([start, end)). */
  closed?: Closed;
  /** Output time of a bar: window start (`left`, default) or end (`right`). */
  label?: Label;
  /** Key column(s); bars are per key. */
  by?: string | string[];
  /** Timestamp column; defaults to the first timestamp column. */
  indexColumn?: string;
  /** `calendar` (default, QuestDB ALIGN TO CALENDAR) or `first_observation`. */
  align?: Align;
  /** IANA time zone for calendar alignment; default UTC. */
  timeZone?: string;
  /** Empty windows: `none` (default, skipped), `null`, `prev`, `linear` or a constant price. */
  fill?: Fill;
  /** Price column; default `price`. */
  price?: string;
  /** Size column; default `size`. */
  size?: string;
  /** Add `first_ts` / `last_ts` (event times of the first and last trade of each bar). */
  includeFirstLastTs?: boolean;
  /** Add `_lower_boundary` / `_upper_boundary` (Polars `include_boundaries`). */
  includeBoundaries?: boolean;
  /** Row order: `key_time` (default, Polars) or `time_key`. */
  order?: 'key_time' | 'time_key';
}

/** The input cannot be resampled (unsorted or null times); names the column. */
export class ResampleInputError extends PolaroidError {
  readonly code: string;
  readonly retriable = false;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The first timestamp column of a table or batch. */
export function defaultTimestampColumn(t: Columnar): string {
  const f = t.schema.fields.find((x) => String(x.type).startsWith('Timestamp'));
  if (!f)
    throw new ResampleInputError(
      'RESAMPLE_NO_TIMESTAMP',
      `no timestamp column; columns are: ${t.schema.fields.map((x) => x.name).join(', ')}`,
    );
  return f.name;
}

export function byColumns(by: string | string[] | undefined): string[] {
  return by === undefined ? [] : Array.isArray(by) ? by : [by];
}

/**
 * Combines several key columns into one Int32 code per row. Codes are stable across calls (the
 * streaming operator keeps one encoder per stream), so per-key state can be indexed by them.
 * A null key is a key of its own (as in Polars and QuestDB): each column gets a code for null the
 * first time it has one, after the dictionary entries mapped so far, and key vectors mark it null.
 */
export class KeyEncoder {
  /** Per by-column: the stream-level dictionary (a placeholder '' at the null code) and its index. */
  readonly dicts: string[][];
  private readonly index: Map<string, number>[];
  /** Per by-column: the code of the null key, or -1 before the first null. */
  private readonly nullCodes: number[];
  /** Composite code → per-column code (flattened, `width` entries per key). */
  private parts: number[] = [];
  private readonly composite = new Map<string, number>();
  private count = 0;

  private readonly mapCache: WeakMap<object, Int32Array>[];
  /** One Arrow dictionary id per key column, so every output batch shares it (IPC deltas). */
  readonly dictIds: number[];

  constructor(readonly columns: readonly string[]) {
    this.dictIds = columns.map(() => new Dictionary(new Utf8(), new Int32()).id);
    this.dicts = columns.map(() => []);
    this.nullCodes = columns.map(() => -1);
    this.index = columns.map(() => new Map());
    this.mapCache = columns.map(() => new WeakMap());
  }

  get size(): number {
    return this.count;
  }

  /** Key codes of a table or batch (undefined when there are no key columns). */
  encode(t: Columnar): Int32Array | undefined {
    if (this.columns.length === 0) return undefined;
    const local = this.columns.map((c, j) => this.localCodes(t, c, j));
    const n = t.numRows;
    if (local.length === 1) return this.single(local[0].codes, local[0].map, local[0].nulls);
    const nullCodes = local.map((l, j) => (l.nulls ? this.nullCode(j) : -1));
    const part = (j: number, i: number): number => {
      const l = local[j];
      return l.nulls?.[i] ? nullCodes[j] : l.map[l.codes[i]];
    };
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let name = '';
      for (let j = 0; j < local.length; j++) name += `${part(j, i)},`;
      let c = this.composite.get(name);
      if (c === undefined) {
        c = this.count++;
        this.composite.set(name, c);
        for (let j = 0; j < local.length; j++) this.parts.push(part(j, i));
      }
      out[i] = c;
    }
    return out;
  }

  /** Column `j`'s code for a null key, made on first use. */
  private nullCode(j: number): number {
    if (this.nullCodes[j] < 0) {
      this.nullCodes[j] = this.dicts[j].length;
      this.dicts[j].push('');
    }
    return this.nullCodes[j];
  }

  /**
   * Codes of one dictionary-encoded key column given as a single Arrow `Data` chunk (the streaming
   * operator's fast path: no Vector per batch). Same result as {@link encode} on one column.
   */
  encodeDictionaryData(d: Data): Int32Array {
    const dict = d.dictionary!;
    let map = this.mapCache[0].get(dict);
    if (!map) {
      const names: string[] = [];
      for (let i = 0; i < dict.length; i++) names.push(dict.get(i) as string);
      map = this.mapNames(names, 0);
      this.mapCache[0].set(dict, map);
    }
    return this.single((d.values as Int32Array).subarray(0, d.length), map, nullMask([d], d.length));
  }

  /**
   * One key column: stream-level codes from local codes and the local → stream map, with the null
   * code where `nulls` is set.
   */
  private single(codes: Int32Array, map: Int32Array, nulls: Uint8Array | undefined): Int32Array {
    if (nulls) {
      const nullCode = this.nullCode(0);
      this.grow();
      const out = new Int32Array(codes.length);
      for (let i = 0; i < codes.length; i++) out[i] = nulls[i] ? nullCode : map[codes[i]];
      return out;
    }
    this.grow();
    let identity = true;
    for (let d = 0; d < map.length; d++) if (map[d] !== d) identity = false;
    if (identity) return codes;
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = map[codes[i]];
    return out;
  }

  /** With one key column, composite codes are the column's codes: count the new ones. */
  private grow(): void {
    for (let g = this.count; g < this.dicts[0].length; g++) this.parts.push(g);
    this.count = this.dicts[0].length;
  }

  /**
   * A key column's codes in this batch and the map from its dictionary to the stream-level one.
   * The map is cached per Arrow dictionary object, so batches sharing a dictionary (slices, or
   * the decoder's growing dictionary between growths) cost no string work.
   */
  private localCodes(
    t: Columnar,
    name: string,
    j: number,
  ): { codes: Int32Array; map: Int32Array; nulls: Uint8Array | undefined } {
    const v = t.getChild(name);
    const nulls = v ? nullMask(v.data, v.length) : undefined;
    const dict = v && v.type instanceof Dictionary ? v.data[v.data.length - 1].dictionary : undefined;
    if (v && dict) {
      let map = this.mapCache[j].get(dict);
      if (!map) {
        const names: string[] = [];
        for (let d = 0; d < dict.length; d++) names.push(dict.get(d) as string);
        map = this.mapNames(names, j);
        this.mapCache[j].set(dict, map);
      }
      let codes: Int32Array;
      if (v.data.length === 1) codes = (v.data[0].values as Int32Array).subarray(0, v.length);
      else {
        codes = new Int32Array(v.length);
        let o = 0;
        for (const d of v.data) {
          codes.set((d.values as Int32Array).subarray(0, d.length), o);
          o += d.length;
        }
      }
      return { codes, map, nulls };
    }
    const { codes, dictionary } = keyCodes(t, name);
    return { codes, map: this.mapNames(dictionary, j), nulls };
  }

  private mapNames(dictionary: readonly string[], j: number): Int32Array {
    const map = new Int32Array(dictionary.length);
    for (let d = 0; d < dictionary.length; d++) {
      let g = this.index[j].get(dictionary[d]);
      if (g === undefined) {
        g = this.dicts[j].length;
        this.dicts[j].push(dictionary[d]);
        this.index[j].set(dictionary[d], g);
      }
      map[d] = g;
    }
    return map;
  }

  private readonly dictVectors: { length: number; type: Dictionary<Utf8, Int32>; values: Vector<Utf8> }[] =
    [];

  /**
   * Codes of column `j` as a dictionary vector over the stream-level dictionary. The Arrow
   * dictionary is rebuilt only when it grew, and its id never changes.
   */
  keyVector(j: number, codes: Int32Array): Vector {
    const c = this.keyDictionary(j);
    const { bitmap, nullCount } = this.keyValidity(j, codes);
    return makeVector(
      makeData({
        type: c.type,
        length: codes.length,
        data: codes,
        nullBitmap: bitmap,
        nullCount,
        dictionary: c.values,
      }),
    );
  }

  /** The validity of key codes of column `j`: null where the code is the null key's. */
  keyValidity(j: number, codes: Int32Array): { bitmap: Uint8Array | undefined; nullCount: number } {
    const nullCode = this.nullCodes[j];
    if (nullCode < 0) return { bitmap: undefined, nullCount: 0 };
    const valid = new Uint8Array(codes.length);
    for (let i = 0; i < codes.length; i++) valid[i] = codes[i] === nullCode ? 0 : 1;
    return validityBitmap(valid);
  }

  /** The Arrow type and values of column `j`'s dictionary (rebuilt only when it grew). */
  keyDictionary(j: number): { type: Dictionary<Utf8, Int32>; values: Vector<Utf8> } {
    let c = this.dictVectors[j];
    if (!c || c.length !== this.dicts[j].length) {
      c = {
        length: this.dicts[j].length,
        type: new Dictionary(new Utf8(), new Int32(), this.dictIds[j]),
        values: vectorFromArray(this.dicts[j], new Utf8()),
      };
      this.dictVectors[j] = c;
    }
    return c;
  }

  /** The per-column code of composite key `code`. */
  part(code: number, column: number): number {
    return this.parts[code * this.columns.length + column];
  }

  /** A readable key for messages: `symbol=BTC-USD`. */
  describe(code: number): string {
    return this.columns
      .map((c, j) => {
        const p = this.part(code, j);
        return `${c}=${p === this.nullCodes[j] ? 'null' : this.dicts[j][p]}`;
      })
      .join(', ');
  }
}

/** 1 where a row of the column is null; undefined when none is. */
function nullMask(data: readonly Data[], length: number): Uint8Array | undefined {
  if (!data.some((d) => d.nullCount > 0)) return undefined;
  const nulls = new Uint8Array(length);
  let o = 0;
  for (const d of data) {
    if (d.nullCount > 0) for (let i = 0; i < d.length; i++) nulls[o + i] = d.getValid(i) ? 0 : 1;
    o += d.length;
  }
  return nulls;
}

/** What the bar columns look like: shared by the batch and streaming operators. */
export interface BarLayout {
  tsName: string;
  by: readonly string[];
  label: Label;
  includeFirstLastTs: boolean;
  includeBoundaries: boolean;
  /** Streaming: add `final` (provisional updates on). */
  includeFinal?: boolean;
  /** Streaming: add `revision` (late: correct). */
  includeRevision?: boolean;
}

function gather(src: Float64Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
  return out;
}

function validOf(values: Float64Array): Uint8Array {
  const v = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) v[i] = !Number.isNaN(values[i]) ? 1 : 0;
  return v;
}

/** Bars (in the order of `idx`) as named Arrow vectors. */
export function barColumns(
  bars: BarBuffer,
  idx: Int32Array,
  keys: KeyEncoder,
  layout: BarLayout,
): Record<string, Vector> {
  const cols: Record<string, Vector> = {};
  layout.by.forEach((name, j) => {
    const codes = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) codes[i] = keys.part(bars.key[idx[i]], j);
    cols[name] = keys.keyVector(j, codes);
  });
  const start = gather(bars.start, idx);
  const end = gather(bars.end, idx);
  cols[layout.tsName] = timestampVector(layout.label === 'right' ? end : start);
  if (layout.includeBoundaries) {
    cols._lower_boundary = timestampVector(start);
    cols._upper_boundary = timestampVector(end);
  }
  cols.open = float64VectorNaNAsNull(gather(bars.open, idx));
  cols.high = float64VectorNaNAsNull(gather(bars.high, idx));
  cols.low = float64VectorNaNAsNull(gather(bars.low, idx));
  cols.close = float64VectorNaNAsNull(gather(bars.close, idx));
  cols.volume = float64Vector(gather(bars.volume, idx));
  cols.vwap = float64VectorNaNAsNull(gather(bars.vwap, idx));
  cols.trades = int64Vector(gather(bars.trades, idx));
  if (layout.includeFirstLastTs) {
    const f = gather(bars.firstTs, idx);
    const l = gather(bars.lastTs, idx);
    const fv = validOf(f);
    const lv = validOf(l);
    for (let i = 0; i < f.length; i++) {
      if (!fv[i]) f[i] = 0;
      if (!lv[i]) l[i] = 0;
    }
    cols.first_ts = timestampVector(f, fv);
    cols.last_ts = timestampVector(l, lv);
  }
  if (layout.includeFinal) {
    const f = new Uint8Array(idx.length);
    for (let i = 0; i < idx.length; i++) f[i] = bars.final[idx[i]];
    cols.final = boolVector(f);
  }
  if (layout.includeRevision) {
    const r = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) r[i] = bars.revision[idx[i]];
    cols.revision = int64Vector(r);
  }
  return cols;
}

const TS_TYPE = new TimestampMicrosecond('UTC');
const F64_TYPE = new Float64();
const I64_TYPE = new Int64();
const BOOL_TYPE = new Bool();

/** Validity bits of `values` (NaN is null); undefined when nothing is null. */
function nanBitmap(values: Float64Array): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) nullCount++;
  if (nullCount === 0) return { bitmap: undefined, nullCount };
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) bitmap[i >> 3] |= 1 << (i & 7);
  return { bitmap, nullCount };
}

function f64Data(values: Float64Array, nanIsNull: boolean): Data {
  const { bitmap, nullCount } = nanIsNull ? nanBitmap(values) : { bitmap: undefined, nullCount: 0 };
  return leafData(F64_TYPE, values.length, values, bitmap, nullCount);
}

/** int64 / timestamp data from integral float64 values; NaN is null when `nanIsNull`. */
function i64Data(type: Int64 | TimestampMicrosecond, values: Float64Array, nanIsNull: boolean): Data {
  const { bitmap, nullCount } = nanIsNull ? nanBitmap(values) : { bitmap: undefined, nullCount: 0 };
  if (bitmap) for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) values[i] = 0;
  return leafData(type, values.length, float64ToInt64(values), bitmap, nullCount);
}

/** int64 / timestamp data of `src[idx[i]]` (integral, never NaN), written as int64 words directly. */
function int64Data(type: Int64 | TimestampMicrosecond, src: Float64Array, idx: Int32Array): Data {
  const n = idx.length;
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer, out.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) setInt64(words, i, src[idx[i]]);
  return leafData(type, n, out, undefined, 0);
}

/**
 * Builds bar record batches for a stream: the same columns as {@link barColumns}, with the Arrow
 * types and schema made once (per key dictionary size) instead of per batch, since a stream emits
 * many small batches.
 */
export class BarBatchBuilder {
  private schema: Schema | undefined;
  private struct: Struct | undefined;
  private dictTypes: Dictionary[] = [];

  constructor(
    private readonly keys: KeyEncoder,
    private readonly layout: BarLayout,
  ) {}

  build(bars: BarBuffer, idx: Int32Array): RecordBatch {
    const { keys, layout } = this;
    const n = idx.length;
    const names: string[] = [];
    const children: Data[] = [];
    let fresh = !this.schema;
    for (let j = 0; j < layout.by.length; j++) {
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) codes[i] = keys.part(bars.key[idx[i]], j);
      const dict = keys.keyDictionary(j);
      if (this.dictTypes[j] !== dict.type) fresh = true;
      this.dictTypes[j] = dict.type;
      names.push(layout.by[j]);
      const { bitmap, nullCount } = keys.keyValidity(j, codes);
      children.push(leafData(dict.type, n, codes, bitmap, nullCount, dict.values));
    }
    names.push(layout.tsName);
    children.push(int64Data(TS_TYPE, layout.label === 'right' ? bars.end : bars.start, idx));
    if (layout.includeBoundaries) {
      names.push('_lower_boundary', '_upper_boundary');
      children.push(int64Data(TS_TYPE, bars.start, idx), int64Data(TS_TYPE, bars.end, idx));
    }
    names.push('open', 'high', 'low', 'close', 'volume', 'vwap', 'trades');
    children.push(
      f64Data(gather(bars.open, idx), true),
      f64Data(gather(bars.high, idx), true),
      f64Data(gather(bars.low, idx), true),
      f64Data(gather(bars.close, idx), true),
      f64Data(gather(bars.volume, idx), false),
      f64Data(gather(bars.vwap, idx), true),
      int64Data(I64_TYPE, bars.trades, idx),
    );
    if (layout.includeFirstLastTs) {
      names.push('first_ts', 'last_ts');
      children.push(
        i64Data(TS_TYPE, gather(bars.firstTs, idx), true),
        i64Data(TS_TYPE, gather(bars.lastTs, idx), true),
      );
    }
    if (layout.includeFinal) {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (bars.final[idx[i]]) bits[i >> 3] |= 1 << (i & 7);
      names.push('final');
      children.push(leafData(BOOL_TYPE, n, bits, undefined, 0));
    }
    if (layout.includeRevision) {
      const r = new Float64Array(n);
      for (let i = 0; i < n; i++) r[i] = bars.revision[idx[i]];
      names.push('revision');
      children.push(i64Data(I64_TYPE, r, false));
    }
    if (fresh || !this.schema || !this.struct) {
      const fields = names.map((name, c) => new Field(name, children[c].type, true));
      this.schema = new Schema(fields);
      this.struct = new Struct(fields);
    }
    return recordBatchOf(this.schema, this.struct, children, n);
  }
}

/**
 * Feed the engine chunk by chunk: µs timestamps are read from the int64 column's 32-bit words by
 * the kernel, with no float64 copy of the column.
 */
function pushInBlocks(
  engine: ResampleEngine,
  table: Table,
  tsName: string,
  codes: Int32Array | undefined,
  price: Float64Array,
  size: Float64Array,
  keyCount: number,
): void {
  const col = table.getChild(tsName)!;
  const type = col.type as { unit?: TimeUnit };
  if (!DataType.isTimestamp(col.type) || type.unit !== TimeUnit.MICROSECOND) {
    engine.push(timestampsUs(table, tsName), codes, price, size, { keyCount });
    return;
  }
  let base = 0;
  for (const d of col.data) {
    const v = (d.values as BigInt64Array).subarray(0, d.length);
    const words = new Int32Array(v.buffer, v.byteOffset, 2 * d.length);
    const lo = base;
    const hi = base + d.length;
    engine.pushInt64Times(words, codes?.subarray(lo, hi), price.subarray(lo, hi), size.subarray(lo, hi), {
      rowBase: lo,
      keyCount,
    });
    base = hi;
  }
}

/** Check a column exists and is a timestamp without nulls. */
export function checkTimestampColumn(t: Columnar, name: string): void {
  const v = t.getChild(name);
  if (!v)
    throw new ResampleInputError(
      'RESAMPLE_NO_COLUMN',
      `column "${name}" not found; columns are: ${t.schema.fields.map((f) => f.name).join(', ')}`,
    );
  if (v.nullCount > 0)
    throw new ResampleInputError('RESAMPLE_NULL_TIME', `column "${name}" has ${v.nullCount} null timestamps`);
}

/**
 * Resample trades into OHLCV bars, per `by` key and window. The input must be sorted by time
 * within each key (an error names the column otherwise). Output columns: the `by` columns, the
 * time column (window start, or end with `label: 'right'`), open, high, low, close, volume, vwap,
 * trades, then first_ts/last_ts when asked. Rows are ordered by key then time (Polars order: keys
 * in order of first appearance, or dictionary order for dictionary columns), or time then key.
 */
export function resampleOhlcv(table: Table, opts: ResampleOptions): Table {
  const tsName = opts.indexColumn ?? defaultTimestampColumn(table);
  checkTimestampColumn(table, tsName);
  const by = byColumns(opts.by);
  const keys = new KeyEncoder(by);
  const codes = keys.encode(table);
  const price = float64Column(table, opts.price ?? 'price');
  const size = float64Column(table, opts.size ?? 'size');
  const parallel = parallelBars(table, opts, tsName, by, codes, price, size, keys.size);
  const bars = parallel ?? singleBars(table, opts, tsName, by, keys, codes, price, size);
  const idx = orderBars(bars, opts.order ?? 'key_time');
  const out = tableFromVectors(
    barColumns(bars, idx, keys, {
      tsName,
      by,
      label: opts.label ?? 'left',
      includeFirstLastTs: opts.includeFirstLastTs ?? false,
      includeBoundaries: opts.includeBoundaries ?? false,
    }),
  );
  // The parallel path's output lives in shared memory, so a parallel operator after it can split it too.
  return parallel ? shareTable(out) : out;
}

/** One engine over every row on this thread. */
function singleBars(
  table: Table,
  opts: ResampleOptions,
  tsName: string,
  by: readonly string[],
  keys: KeyEncoder,
  codes: Int32Array | undefined,
  price: Float64Array,
  size: Float64Array,
): BarBuffer {
  const engine = new ResampleEngine({ ...opts, mode: 'batch' });
  try {
    if (opts.align === 'first_observation' || opts.timeZone) {
      const ts = timestampsUs(table, tsName);
      let m = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ts.length; i++) if (ts[i] < m && !Number.isNaN(price[i])) m = ts[i];
      engine.push(ts, codes, price, size, {
        firstUs: Number.isFinite(m) ? m : undefined,
        keyCount: keys.size,
      });
    } else pushInBlocks(engine, table, tsName, codes, price, size, keys.size);
  } catch (e) {
    if (e instanceof UnsortedInputError) {
      const within = by.length ? ` within key ${keys.describe(e.key)}` : '';
      throw new ResampleInputError(
        'RESAMPLE_UNSORTED',
        `column "${tsName}" is not sorted ascending${within}: row ${e.row} is at ${e.time} µs, before ${e.previous} µs`,
      );
    }
    throw e;
  }
  engine.flush();
  return engine.out;
}

/**
 * Default of {@link setResampleParallelMinRows}. Handing work to the pool costs about a
 * millisecond (messages, partial bars, merge); on 2 cores with bench-like data, 1 vs 2 threads
 * took 4.4 / 3.4 ms at 300k rows and 9.4 / 6.1 ms at 1M, so from here the gain is clear of noise.
 */
export const RESAMPLE_PARALLEL_MIN_ROWS = 500_000;
let parallelMinRows = RESAMPLE_PARALLEL_MIN_ROWS;

/**
 * Smallest table {@link resampleOhlcv} splits over the worker pool (tests lower it to run the
 * parallel path on small tables); `undefined` restores {@link RESAMPLE_PARALLEL_MIN_ROWS}.
 */
export function setResampleParallelMinRows(n: number | undefined): void {
  parallelMinRows = n ?? RESAMPLE_PARALLEL_MIN_ROWS;
}

/**
 * The bars from the worker pool, or undefined to run on this thread. The rows are cut into one
 * contiguous range per worker; each runs the batch engine over its range and the partial bars of
 * windows cut by a range boundary are merged (kernels/resample-merge.ts). Taken only when merging
 * is exact: no fill (filled bars depend on a key's neighbouring bars, which may be in another
 * range), a grid that does not depend on the data (no `first_observation`, no `timeZone`, whose
 * fixed-stride anchor depends on the first time's year), int64 µs times, a table of at least
 * {@link setResampleParallelMinRows} rows whose time, key, price and size columns are shared, and
 * more than one thread. If time goes backwards within a key anywhere (inside a range or across a
 * boundary), or a worker's grid refuses the options, it returns undefined too, and the single pass
 * raises its usual error.
 */
function parallelBars(
  table: Table,
  opts: ResampleOptions,
  tsName: string,
  by: readonly string[],
  codes: Int32Array | undefined,
  price: Float64Array,
  size: Float64Array,
  keyCount: number,
): BarBuffer | undefined {
  const n = table.numRows;
  if (n < Math.max(1, parallelMinRows)) return undefined;
  const threads = parallelism();
  if (threads < 2) return undefined;
  if ((opts.fill ?? 'none') !== 'none' || opts.align === 'first_observation' || opts.timeZone)
    return undefined;
  const ts = table.getChild(tsName)!;
  const unit = (ts.type as { unit?: TimeUnit }).unit;
  if (!DataType.isTimestamp(ts.type) || unit !== TimeUnit.MICROSECOND) return undefined;
  const read = [tsName, ...by, opts.price ?? 'price', opts.size ?? 'size'];
  if (!read.every((c) => isSharedVector(table.getChild(c)!))) return undefined;
  // Key codes, prices and sizes are views of the table's shared buffers unless they had to be
  // converted (null slots, several chunks, remapped codes): copy those into shared memory.
  const sCodes = codes && toShared(codes);
  const sPrice = toShared(price);
  const sSize = toShared(size);
  const parts: ResamplePart[] = [];
  const kernelOpts = { every: opts.every, period: opts.period, offset: opts.offset, closed: opts.closed };
  for (let w = 0; w < threads; w++) {
    const lo = Math.floor((n * w) / threads);
    const hi = Math.floor((n * (w + 1)) / threads);
    const segments: ResampleSegment[] = [];
    let base = 0;
    for (const d of ts.data) {
      const a = Math.max(lo, base);
      const b = Math.min(hi, base + d.length);
      if (a < b) {
        const v = d.values as BigInt64Array;
        segments.push({
          words: new Int32Array(v.buffer, v.byteOffset + 8 * (a - base), 2 * (b - a)),
          codes: sCodes?.subarray(a, b),
          price: sPrice.subarray(a, b),
          size: sSize.subarray(a, b),
          rowBase: a,
        });
      }
      base += d.length;
    }
    parts.push({ opts: kernelOpts, keyCount, segments });
  }
  const results = runTasks<ResamplePartResult>('resample.range', parts);
  const done = results.filter((r) => !r.rerun);
  if (done.length < results.length || !sortedAcrossParts(done)) return undefined;
  return mergePartBars(done.map((r) => r.bars));
}
