/**
 * `rolling`: rolling-window statistics per key, one output row per input row (Polars
 * `rolling_<agg>_by` / `group_by_rolling` for time windows, `rolling_<agg>` + `over` for row
 * windows). The output is the input with one column added (or replaced) per aggregate.
 *
 * Windows: `period` (a fixed duration) gives `(t − period, t]` by default, `closed` left | right |
 * both | none; `rows: n` gives the last n rows of the key. Aggregates: sum, mean, min, max, std,
 * var (ddof = 1, as Polars), count, vwap (`price`, `size`), ewm_mean (time-aware with `half_life`,
 * as Polars `ewm_mean_by`), ewm_var and ewm_std (the same decay; the biased EW variance, Polars
 * `ewm_var(adjust=False, bias=True)`). `min_periods` defaults to 1 for time windows (Polars
 * `rolling_*_by(min_samples=1)`) and to `rows` for row windows (Polars `rolling_*`). Null and NaN
 * are missing values: skipped, and not counted toward `min_periods` (`count` defaults to
 * min_periods 0, so an empty window counts 0). Windows are causal: with
 * equal timestamps, a row's window holds the rows up to itself, not the later rows of the same
 * instant (Polars puts them all in each window; see docs/rolling.md).
 *
 * The input must be sorted by `ts` within each key; the error names the column and the key.
 *
 * Threads: `rolling` splits a large table in shared memory by key over the worker pool (see
 * {@link setRollingParallelMinRows} and docs/rolling.md); the output is the same, value for value.
 *
 * @example
 * ```ts
 * const out = rolling(trades, { ts: 'ts', by: 'symbol', period: '1s', aggs: [{ agg: 'mean', column: 'price' }] });
 * // adds price_mean_1s
 * ```
 */
import {
  type Data,
  DataType,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeUnit,
  type TypeMap,
  type Vector,
} from 'apache-arrow';
import { defer, map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { OpSpec, Registry } from '../config/registry.ts';
import { parseDuration } from '../config/units.ts';
import { PolaroidError } from '../pipeline/errors.ts';
import type { Batch } from '../pipeline/types.ts';
import { float64Column, timestampsUs } from './arrow.ts';
import { float64ToInt64 } from './kernels/int64.ts';
import {
  type Closed,
  isEwmAgg,
  type KernelAgg,
  type KeyParts,
  ROLLING_AGG_KINDS,
  type RollingAggKind,
  RollingKernel,
  type RollingKernelOptions,
} from './kernels/rolling.ts';
import { parallelism, runTasks } from './parallel/pool.ts';
import {
  mergeRollingParts,
  ROLLING_PART,
  type RollingPart,
  type RollingPartResult,
} from './parallel/rolling-task.ts';
import { isSharedVector, sharedArray, shareTable, toShared } from './parallel/shared.ts';
import { KeyMapper } from './rolling-keys.ts';

export type { Closed, RollingAggKind };

export const ROLLING_AGGS = ROLLING_AGG_KINDS;

export interface RollingAggSpec {
  agg: RollingAggKind;
  /** Input column; not used by vwap (see `price`/`size`); optional for count (counts rows). */
  column?: string;
  /** Output column name; default `<column>_<agg>_<window>` (e.g. `price_mean_1s`). */
  as?: string;
  /** Overrides the operator's `min_periods` for this aggregate. */
  min_periods?: number;
}

export interface RollingOptions {
  /** Timestamp column (default `ts`). */
  ts?: string;
  /** Key column(s): each key has its own windows. */
  by?: string | readonly string[];
  /** Time window length, a fixed duration (`500ms`, `1s`, `5m`, `1d`). Exclusive with `rows`. */
  period?: string;
  /** Row-count window: the last `rows` rows of the key. Exclusive with `period`. */
  rows?: number;
  /** Which window ends are inclusive (time windows; default `right`: `(t − period, t]`). */
  closed?: Closed;
  aggs: readonly RollingAggSpec[];
  /** Default for every aggregate: 1 for time windows, `rows` for row windows. */
  min_periods?: number;
  /** Price and size columns for vwap. */
  price?: string;
  size?: string;
  /** Half-life of ewm_mean, ewm_var and ewm_std, a fixed duration. */
  half_life?: string;
  /**
   * A row earlier than its key's previous row: `error` (default) fails naming the column and key;
   * `skip` emits it with null aggregates and leaves the windows unchanged (counted).
   */
  unsorted?: 'error' | 'skip';
}

/** Bad options or an input that does not fit them (missing column, wrong type). */
export class RollingConfigError extends PolaroidError {
  readonly code = 'POLAROID_ROLLING_CONFIG';
  readonly retriable = false;
}

/** Timestamps go backwards within a key, or a timestamp is null. */
export class RollingUnsortedError extends PolaroidError {
  readonly code = 'POLAROID_ROLLING_UNSORTED';
  readonly retriable = false;
}

interface OutputColumn {
  name: string;
  integer: boolean;
}

interface Resolved {
  ts: string;
  by: string[];
  inputs: string[];
  kernel: RollingKernelOptions;
  outputs: OutputColumn[];
}

function fixedMicros(text: string, what: string): number {
  const d = parseDuration(text);
  if (d?.months !== 0)
    throw new RollingConfigError(
      `rolling: ${what} "${text}" is not a fixed duration such as 500ms, 1s, 5m or 1d`,
    );
  const us = d.micros + d.days * 86_400_000_000;
  if (!(us > 0)) throw new RollingConfigError(`rolling: ${what} must be positive, got "${text}"`);
  return us;
}

/** Validate options and lay out the kernel's inputs and aggregates. */
export function resolveRolling(opts: RollingOptions): Resolved {
  if ((opts.period === undefined) === (opts.rows === undefined))
    throw new RollingConfigError('rolling: give exactly one of period (a duration) or rows (a count)');
  if (!opts.aggs || opts.aggs.length === 0)
    throw new RollingConfigError('rolling: aggs must list at least one aggregate');
  const by = opts.by === undefined ? [] : typeof opts.by === 'string' ? [opts.by] : [...opts.by];
  const rows = opts.rows;
  if (rows !== undefined && !(Number.isInteger(rows) && rows > 0))
    throw new RollingConfigError(`rolling: rows must be a positive integer, got ${rows}`);
  const window: RollingKernelOptions['window'] =
    rows !== undefined
      ? { kind: 'rows', rows }
      : { kind: 'time', periodUs: fixedMicros(opts.period!, 'period'), closed: opts.closed ?? 'right' };
  const label = rows !== undefined ? `${rows}rows` : opts.period!.trim();
  const defaultMin = opts.min_periods ?? (rows !== undefined ? rows : 1);
  const inputs: string[] = [];
  const input = (name: string): number => {
    let j = inputs.indexOf(name);
    if (j < 0) j = inputs.push(name) - 1;
    return j;
  };
  const halfLifeUs = opts.half_life === undefined ? undefined : fixedMicros(opts.half_life, 'half_life');
  const aggs: KernelAgg[] = [];
  const outputs: OutputColumn[] = [];
  for (const a of opts.aggs) {
    if (!(ROLLING_AGGS as readonly string[]).includes(a.agg))
      throw new RollingConfigError(
        `rolling: unknown aggregate "${a.agg}"; use one of ${ROLLING_AGGS.join(', ')}`,
      );
    const minPeriods = a.min_periods ?? (a.agg === 'count' ? 0 : defaultMin);
    if (!(Number.isInteger(minPeriods) && minPeriods >= 0))
      throw new RollingConfigError(`rolling: min_periods must be a non-negative integer, got ${minPeriods}`);
    let name: string;
    if (a.agg === 'vwap') {
      if (!opts.price || !opts.size)
        throw new RollingConfigError('rolling: vwap needs price and size columns');
      aggs.push({ agg: 'vwap', input: input(opts.price), size: input(opts.size), minPeriods });
      name = `vwap_${label}`;
    } else if (isEwmAgg(a.agg)) {
      if (!a.column) throw new RollingConfigError(`rolling: ${a.agg} needs a column`);
      if (halfLifeUs === undefined) throw new RollingConfigError(`rolling: ${a.agg} needs half_life`);
      aggs.push({ agg: a.agg, input: input(a.column), minPeriods });
      name = `${a.column}_${a.agg}_${opts.half_life!.trim()}`;
    } else if (!a.column) {
      if (a.agg !== 'count') throw new RollingConfigError(`rolling: ${a.agg} needs a column`);
      aggs.push({ agg: 'count', input: -1, minPeriods });
      name = `count_${label}`;
    } else {
      aggs.push({ agg: a.agg, input: input(a.column), minPeriods });
      name = `${a.column}_${a.agg}_${label}`;
    }
    name = a.as ?? name;
    if (outputs.some((o) => o.name === name))
      throw new RollingConfigError(`rolling: two aggregates write column "${name}"; name one with "as"`);
    outputs.push({ name, integer: a.agg === 'count' });
  }
  return {
    ts: opts.ts ?? 'ts',
    by,
    inputs,
    kernel: { window, inputs: inputs.length, aggs, halfLifeUs, unsorted: opts.unsorted ?? 'error' },
    outputs,
  };
}

/**
 * The output layout for an input schema: `source[c] >= 0` takes input column `source[c]`,
 * `source[c] = -1 - a` takes aggregate a. A replaced column keeps its place; new ones are appended.
 */
interface Layout {
  schema: Schema;
  source: number[];
}

function outputLayout(input: Schema, r: Resolved): Layout {
  const fields: Field[] = [];
  const source: number[] = [];
  const placed = new Set<number>();
  const outField = (a: number) => {
    const o = r.outputs[a];
    return new Field(o.name, o.integer ? new Int64() : new Float64(), true);
  };
  input.fields.forEach((f, j) => {
    const a = r.outputs.findIndex((o) => o.name === f.name);
    if (a < 0) {
      fields.push(f);
      source.push(j);
    } else {
      fields.push(outField(a));
      source.push(-1 - a);
      placed.add(a);
    }
  });
  r.outputs.forEach((_, a) => {
    if (placed.has(a)) return;
    fields.push(outField(a));
    source.push(-1 - a);
  });
  return { schema: new Schema(fields, input.metadata), source };
}

function checkSchema(schema: Schema, r: Resolved): void {
  const have = new Set(schema.fields.map((f) => f.name));
  const missing = [r.ts, ...r.by, ...r.inputs].filter((c) => !have.has(c));
  if (missing.length > 0)
    throw new RollingConfigError(
      `rolling: column(s) ${missing.map((c) => `"${c}"`).join(', ')} not found; columns are: ${[...have].join(', ')}`,
    );
  const typeOf = (name: string) => schema.fields.find((f) => f.name === name)!.type;
  const tsType = typeOf(r.ts);
  if (!DataType.isTimestamp(tsType) && !DataType.isInt(tsType))
    throw new RollingConfigError(`rolling: ts column "${r.ts}" is ${tsType}, expected a timestamp`);
  for (const c of r.inputs) {
    const t = typeOf(c);
    if (!DataType.isFloat(t) && !DataType.isInt(t))
      throw new RollingConfigError(`rolling: column "${c}" is ${t}, expected a numeric column`);
  }
}

/** Same column names and types (slices and decoders may hand out equal but new Schema objects). */
function sameFields(a: Schema, b: Schema): boolean {
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => f.name === b.fields[i].name && String(f.type) === String(b.fields[i].type));
}

/**
 * Arrow data for a slice of an output column: NaN becomes null. Only rows [from, to) can be NaN
 * (the kernel reports where its nulls are); the validity bitmap is allocated (all valid) at the
 * first NaN, so a column without nulls gets none. `shared`: new buffers (validity, int64 values)
 * go to shared memory, as the values of the pool's outputs are.
 */
function outputData(values: Float64Array, integer: boolean, from: number, to: number, shared: boolean): Data {
  const n = values.length;
  let nullCount = 0;
  let nullBitmap: Uint8Array | undefined;
  for (let i = Math.max(from, 0), end = Math.min(to, n); i < end; i++) {
    if (Number.isNaN(values[i])) {
      if (nullBitmap === undefined) nullBitmap = allValid(n, shared);
      nullBitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    }
  }
  if (integer) {
    const data = float64ToInt64(values, shared ? sharedArray(BigInt64Array, n) : undefined);
    return makeData({ type: new Int64(), length: n, data, nullBitmap, nullCount });
  }
  return makeData({ type: new Float64(), length: n, data: values, nullBitmap, nullCount });
}

/** A validity bitmap of n valid rows (the bits past n are 0). */
function allValid(n: number, shared: boolean): Uint8Array {
  const bytes = (n + 7) >> 3;
  const bitmap = (shared ? sharedArray(Uint8Array, bytes) : new Uint8Array(bytes)).fill(0xff);
  if (n & 7) bitmap[n >> 3] = (1 << (n & 7)) - 1;
  return bitmap;
}

/**
 * Output columns of one kernel call, and per column its null count, first and last null row;
 * `shared` when the worker pool computed them (the columns are in shared memory).
 */
interface Computed {
  out: Float64Array[];
  nulls: Float64Array;
  shared: boolean;
}

/** One input record batch plus its slice [offset, offset + numRows) of the outputs. */
function appendOutputs(
  batch: RecordBatch,
  { out, nulls, shared }: Computed,
  offset: number,
  r: Resolved,
  layout: Layout,
): RecordBatch {
  const n = batch.numRows;
  const children: Data[] = layout.source.map((j) => {
    if (j >= 0) return batch.data.children[j] as Data;
    const a = -1 - j;
    // Rows of this slice between the first and the last null of the column (none if it has none).
    const from = nulls[3 * a] > 0 ? nulls[3 * a + 1] - offset : 0;
    const to = nulls[3 * a] > 0 ? nulls[3 * a + 2] + 1 - offset : 0;
    return outputData(out[a].subarray(offset, offset + n), r.outputs[a].integer, from, to, shared);
  });
  const data = makeData({
    type: new Struct(layout.schema.fields as Field<DataType>[]),
    length: n,
    children,
    nullCount: 0,
  });
  return new RecordBatch(layout.schema, data as Data<Struct<TypeMap>>);
}

/**
 * The rolling state of one stream: the kernel, the stable key ids and the schema it was planned
 * for. Batch and streaming mode share it, which is what makes them agree on any split.
 */
class RollingRunner {
  private readonly r: Resolved;
  private readonly kernel: RollingKernel;
  private readonly keys: KeyMapper;
  private layoutFor: Schema | undefined;
  private layout: Layout | undefined;

  constructor(opts: RollingOptions) {
    this.r = resolveRolling(opts);
    this.kernel = new RollingKernel(this.r.kernel);
    this.keys = new KeyMapper(this.r.by);
  }

  private plan(schema: Schema): Layout {
    if (this.layoutFor === schema && this.layout) return this.layout;
    if (!this.layout || !this.layoutFor || !sameFields(schema, this.layoutFor)) {
      checkSchema(schema, this.r);
      this.layout = outputLayout(schema, this.r);
    }
    this.layoutFor = schema;
    return this.layout;
  }

  /**
   * Aggregate all rows of `t` (in order) and return the output columns. `pool`: a whole table of
   * a one-shot call, which may be split over the worker pool (see {@link poolSplit}); the pool's
   * windows are not kept in this runner, so a runner that took it cannot go on with more rows.
   */
  private compute(t: Table | RecordBatch, pool: boolean): Computed {
    const r = this.r;
    const tsVec = t.getChild(r.ts)!;
    if (tsVec.nullCount > 0)
      throw new RollingUnsortedError(`rolling: column "${r.ts}" has ${tsVec.nullCount} null timestamp(s)`);
    let ts: Float64Array | BigInt64Array;
    let cols: Float64Array[];
    try {
      ts = rawMicros(tsVec) ?? timestampsUs(t, r.ts);
      cols = r.inputs.map((c) => float64Column(t, c));
    } catch (e) {
      throw new RollingConfigError(`rolling: ${(e as Error).message}`, { cause: e });
    }
    const keys = this.keys.encode(t);
    const split = pool && keys !== null ? poolSplit(t, r, keys) : undefined;
    let out: Float64Array[];
    let nulls: Float64Array;
    let bad: number;
    if (split === undefined) {
      out = r.outputs.map(() => new Float64Array(ts.length));
      nulls = new Float64Array(3 * out.length);
      bad = this.kernel.process(ts, keys, cols, out, nulls);
    } else {
      out = r.outputs.map(() => sharedArray(Float64Array, ts.length));
      const common = {
        opts: r.kernel,
        ts: toShared(ts),
        keys: toShared(keys!),
        cols: cols.map(toShared),
        out,
      };
      const parts: RollingPart[] = [];
      for (let part = 0; part < split.parts; part++) parts.push({ ...common, split, part });
      const merged = mergeRollingParts(runTasks<RollingPartResult>(ROLLING_PART, parts), out.length);
      nulls = merged.nulls;
      bad = merged.unsortedRow;
      this.poolSkipped += merged.skipped;
    }
    if (bad >= 0) {
      const key = keys === null ? '' : ` within key ${this.keys.describe(keys[bad])}`;
      throw new RollingUnsortedError(
        `rolling: column "${r.ts}" is not sorted${key}: row ${bad} (${iso(Number(ts[bad]))}) is earlier than the key's previous row; ` +
          `sort the input by "${r.ts}"${r.by.length ? ' within each key' : ''}`,
      );
    }
    return { out, nulls, shared: split !== undefined };
  }

  /** A whole table, once (the batch operator); may run on the worker pool. */
  table(t: Table): Table {
    const layout = this.plan(t.schema);
    const out = this.compute(t, true);
    let offset = 0;
    const batches = t.batches.map((b) => {
      const rb = appendOutputs(b, out, offset, this.r, layout);
      offset += b.numRows;
      return rb;
    });
    const table = batches.length > 0 ? new Table(batches) : new Table(layout.schema);
    // The pool's output columns are in shared memory, and so are the columns the pool read;
    // shareTable moves there any other column passed through, so that a parallel operator after
    // this one can split the whole result too.
    return out.shared ? shareTable(table) : table;
  }

  /** The next batch of a stream, on this thread. */
  batch(b: RecordBatch): RecordBatch {
    const layout = this.plan(b.schema);
    return appendOutputs(b, this.compute(b, false), 0, this.r, layout);
  }

  private poolSkipped = 0;

  /** Rows skipped as out of order so far (`unsorted: skip`). */
  get skipped(): number {
    return this.kernel.skipped + this.poolSkipped;
  }
}

/**
 * Default of {@link setRollingParallelMinRows}. Handing a call to the pool costs about a
 * millisecond (messages, the kernel set up in each worker), and each worker reads every row's key;
 * on 2 cores with bench-like data (mean + std over 1s by 8 symbols, medians of 15-31 calls, three
 * runs), 1 vs 2 threads took 4-10 / 4-11 ms at 200k rows (no gain), 10-15 / 9-11 ms at 300k and
 * 16-23 / 14 ms at 500k.
 */
export const ROLLING_PARALLEL_MIN_ROWS = 300_000;
let parallelMinRows = ROLLING_PARALLEL_MIN_ROWS;

/**
 * Smallest table {@link rolling} splits over the worker pool (tests lower it to run the parallel
 * path on small tables); `undefined` restores {@link ROLLING_PARALLEL_MIN_ROWS}.
 */
export function setRollingParallelMinRows(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1))
    throw new RangeError(`the parallel threshold must be an integer >= 1, got ${n}`);
  parallelMinRows = n ?? ROLLING_PARALLEL_MIN_ROWS;
}

/** Rows of the key codes counted to share the keys out between the parts. */
const SAMPLE_ROWS = 65_536;
/** Keys with a larger code go to part `code % parts` (they are many, so that spreads them evenly). */
const MAX_PLANNED_KEYS = 65_536;

/**
 * How {@link rolling} splits a table over the worker pool, or undefined to run on this thread.
 * The keys are shared out between one part per thread; each worker runs the kernel over the rows
 * of its keys (reading every row's key code, the other columns only for its own rows) and writes
 * those rows of the shared output columns, so a key's windows never leave one worker and the
 * output is the single pass's. Taken when there is more than one thread, the table has at least
 * {@link setRollingParallelMinRows} rows, `by` keys, and its time, key and input columns are in
 * shared memory. The keys are given to the parts by their rows in an even sample of the table,
 * largest first to the lightest part (keys the sample missed go by their code); a sample with
 * only one key stays on this thread.
 */
function poolSplit(t: Table | RecordBatch, r: Resolved, keys: Int32Array): KeyParts | undefined {
  const n = keys.length;
  if (n < parallelMinRows) return undefined;
  const threads = parallelism();
  if (threads < 2) return undefined;
  if (![r.ts, ...r.by, ...r.inputs].every((c) => isSharedVector(t.getChild(c)!))) return undefined;
  const step = Math.max(1, Math.floor(n / SAMPLE_ROWS));
  let counts = new Int32Array(16);
  let planned = 0;
  const unplanned: number[] = [];
  for (let i = 0; i < n; i += step) {
    const k = keys[i];
    if (k >= MAX_PLANNED_KEYS) unplanned.push(k);
    else {
      if (k >= counts.length) {
        const grown = new Int32Array(Math.min(MAX_PLANNED_KEYS, Math.max(k + 1, 2 * counts.length)));
        grown.set(counts);
        counts = grown;
      }
      counts[k]++;
      if (k >= planned) planned = k + 1;
    }
  }
  const order: number[] = [];
  for (let k = 0; k < planned; k++) if (counts[k] > 0) order.push(k);
  const keyCount = order.length + new Set(unplanned).size;
  if (keyCount < 2) return undefined;
  const parts = Math.min(threads, keyCount);
  const load = new Float64Array(parts);
  for (const k of unplanned) load[k % parts]++;
  const partOf = new Int32Array(planned);
  for (let k = 0; k < planned; k++) partOf[k] = k % parts;
  order.sort((a, b) => counts[b] - counts[a] || a - b);
  for (const k of order) {
    let p = 0;
    for (let q = 1; q < parts; q++) if (load[q] < load[p]) p = q;
    partOf[k] = p;
    load[p] += counts[k];
  }
  return { partOf, parts };
}

/** The int64 µs of a one-chunk µs timestamp (or int64) column as they are, for the kernel. */
function rawMicros(v: Vector): BigInt64Array | undefined {
  if (v.data.length !== 1) return undefined;
  const type = v.type;
  const micros =
    (DataType.isTimestamp(type) && type.unit === TimeUnit.MICROSECOND) ||
    (DataType.isInt(type) && type.bitWidth === 64 && type.isSigned);
  const values = v.data[0].values;
  return micros && values instanceof BigInt64Array ? values.subarray(0, v.length) : undefined;
}

function iso(us: number): string {
  return Number.isFinite(us) ? new Date(us / 1000).toISOString() : String(us);
}

/** Rolling statistics over a whole table (batch mode). */
export function rolling(table: Table, opts: RollingOptions): Table {
  return new RollingRunner(opts).table(table);
}

/**
 * Rolling statistics over a stream of batches: each key's window is kept across batches, one
 * output batch per input batch, with the input batch's acks (every row yields an output row).
 */
export function rollingStream(
  opts: RollingOptions,
  hooks: { skipped?: (rows: number, total: number) => void } = {},
): OperatorFunction<Batch, Batch> {
  resolveRolling(opts);
  return (source) =>
    defer(() => {
      const runner = new RollingRunner(opts);
      return source.pipe(
        map((b): Batch => {
          const before = runner.skipped;
          const data = runner.batch(b.data);
          if (runner.skipped > before) hooks.skipped?.(runner.skipped - before, runner.skipped);
          return { stream: b.stream, data, acks: b.acks };
        }),
      );
    });
}

const zFixedDuration = (what: string) =>
  z.string().refine((s) => {
    const d = parseDuration(s);
    return d !== undefined && d.months === 0 && d.micros + d.days * 86_400_000_000 > 0;
  }, `expected a positive fixed duration such as 500ms, 1s, 5m or 1d (${what})`);

const zColumnName = z.string().min(1);

export const zRollingAgg = z
  .strictObject({
    agg: z
      .enum(ROLLING_AGGS)
      .describe(
        'Aggregate: sum, mean, min, max, std, var (ddof=1), count, vwap, ewm_mean, ewm_var, ewm_std (biased EW variance)',
      ),
    column: zColumnName
      .optional()
      .describe(
        'Input column (numeric); not used by vwap (see price/size); count without a column counts rows',
      ),
    as: zColumnName
      .optional()
      .describe('Output column name (default <column>_<agg>_<window>, e.g. price_mean_1s)'),
    min_periods: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Minimum non-missing values for a non-null result; overrides the operator's min_periods"),
  })
  .describe('One aggregate: {agg, column, as, min_periods}');

export const zRollingConfig = z
  .strictObject({
    ts: zColumnName.default('ts').describe('Timestamp column; rows must be sorted by it within each key'),
    by: z
      .union([zColumnName, z.array(zColumnName).min(1)])
      .optional()
      .describe('Key column(s); each key has its own windows (e.g. [symbol])'),
    period: zFixedDuration('period')
      .optional()
      .describe('Time window length (fixed duration, e.g. 1s, 5m); window (t - period, t] by default'),
    rows: z.number().int().positive().optional().describe('Row-count window: the last n rows of the key'),
    closed: z
      .enum(['right', 'left', 'both', 'none'])
      .default('right')
      .describe('Inclusive window ends for time windows: right (t-p, t], left [t-p, t), both, none'),
    aggs: z.array(zRollingAgg).min(1).describe('Aggregates to add as columns, in order'),
    min_periods: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Minimum non-missing values for a non-null result (default 1 for period, rows for rows)'),
    price: zColumnName.optional().describe('Price column for vwap'),
    size: zColumnName.optional().describe('Size column for vwap'),
    half_life: zFixedDuration('half_life')
      .optional()
      .describe(
        'Half-life of ewm_mean, ewm_var and ewm_std in time (alpha = 1 - exp(-ln2 * dt / half_life))',
      ),
    unsorted: z
      .enum(['error', 'skip'])
      .default('error')
      .describe(
        "A row earlier than its key's previous row: error stops the stream; skip emits it with null aggregates (logged)",
      ),
  })
  .superRefine((c, ctx) => {
    if ((c.period === undefined) === (c.rows === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of period or rows', path: ['period'] });
    c.aggs.forEach((a, i) => {
      if (a.agg === 'vwap' && (!c.price || !c.size))
        ctx.addIssue({ code: 'custom', message: 'vwap needs price and size', path: ['aggs', i, 'agg'] });
      if (isEwmAgg(a.agg) && !c.half_life)
        ctx.addIssue({ code: 'custom', message: `${a.agg} needs half_life`, path: ['aggs', i, 'agg'] });
      if (a.agg !== 'vwap' && a.agg !== 'count' && !a.column)
        ctx.addIssue({ code: 'custom', message: `${a.agg} needs a column`, path: ['aggs', i, 'column'] });
    });
  })
  .describe('Rolling-window statistics per key, one output row per input row');

export type RollingConfig = z.output<typeof zRollingConfig>;

export const rollingSpec: OpSpec<RollingConfig> = {
  kind: 'op',
  name: 'rolling',
  summary:
    'Rolling-window statistics per key (time or row windows): sum, mean, min, max, std, var, count, vwap, ewm_mean, ewm_var, ewm_std; adds one column per aggregate.',
  stability: 'beta',
  config: zRollingConfig,
  examples: [
    {
      title: '1-second mean and standard deviation of the price per symbol',
      yaml: 'by: [symbol]\nperiod: 1s\naggs:\n  - { agg: mean, column: price }\n  - { agg: std, column: price, as: price_sd }\n',
    },
    {
      title: '20-trade VWAP, and a 30-second EWM of the price with its EW standard deviation',
      yaml: 'by: symbol\nrows: 20\nprice: price\nsize: size\nhalf_life: 30s\naggs:\n  - { agg: vwap }\n  - { agg: ewm_mean, column: price, min_periods: 1 }\n  - { agg: ewm_std, column: price, min_periods: 2 }\n',
    },
  ],
  create: (config, ctx) =>
    rollingStream(config, {
      skipped: (rows, total) => {
        ctx.count?.('unsorted_skipped', rows);
        ctx.logger.warn("rolling: skipped rows earlier than their key's previous row", {
          op: ctx.name,
          rows,
          total,
        });
      },
    }),
};

/** Register the `rolling` op. */
export function registerRolling(registry: Registry): void {
  registry.register(rollingSpec);
}
