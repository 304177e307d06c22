/**
 * `asofJoin`: the batch as-of join of two Arrow tables, with Polars `join_asof` semantics.
 *
 * @example
 * ```ts
 * const out = asofJoin(trades, quotes, { on: 'ts', by: 'symbol', tolerance: '1s' });
 * ```
 *
 * - Left join: every left row is kept, in order; right columns are null where nothing matched.
 * - `strategy`: `backward` (default: last right row with `on <= left`; the last of equal values),
 *   `forward` (first right row with `on >= left`), `nearest` (smallest distance; a tie goes to the
 *   later right value, and to the last of equal values, as in Polars).
 * - `tolerance` (inclusive, every strategy): `|left - right| <= tolerance`. A number is in the
 *   unit of the `on` column (as Polars: the physical unit of a timestamp column); a duration
 *   string (`500ms`, `1s`, `1d`; no months) needs timestamp `on` columns.
 * - `allow_exact_matches: false` makes the comparisons strict (`<` / `>`; QuestDB `LT JOIN`).
 * - `by` (or `by_left` / `by_right`, same count): one or more equality keys; null keys never
 *   match. Keys present on one side only simply find no match.
 * - Null or NaN `on` values: a left row gets no match, a right row is never matched; such rows
 *   are ignored by the sortedness check (Polars requires nulls first instead).
 * - Both inputs must be sorted by `on` within each `by` group: otherwise an {@link AsofUnsortedError}
 *   names the side, the column, the group and the rows (Polars cannot check this with `by`).
 * - Output columns: the left columns, then the right columns minus the `by_right` columns, minus
 *   the right `on` column when `coalesce` (default true) and both `on` names are equal (as Polars:
 *   with different names the right `on` column is kept). A right name that clashes gets `suffix`
 *   (default `_right`).
 *
 * Backward joins of int64 (µs timestamp) `on` columns in global time order take a fused merge
 * that writes the right values straight into the output columns (timeseries/kernels/asof-fused.ts),
 * split over the worker pool for large shared input (see {@link setAsofParallelMinRows}). Every
 * other case goes through the index kernel (timeseries/kernels/asof.ts), then the right columns
 * are gathered into new Arrow vectors with validity. Left columns are reused as they are.
 */
import { type DataType, Field, makeData, makeVector, Schema, type Table } from 'apache-arrow';
import { fixedMicros, parseDuration } from '../config/units.ts';
import {
  AsofConfigError,
  canHostIndices,
  chunksOf,
  columnOf,
  fusedKind,
  gatherColumn,
  gatherColumnInPlace,
  KeyEncoder,
  matchValidity,
  onRaw,
  tableFrom,
  timestampScale,
} from './asof-columns.ts';
import { type AsofStrategy, AsofUnsortedError, asofJoinIndices } from './kernels/asof.ts';
import {
  asofBackwardFused,
  type FusedPart,
  fusedColumns,
  nativePart,
  type PartRange,
  planBackwardParts,
} from './kernels/asof-fused.ts';
import { int64ToFloat64 } from './kernels/int64.ts';
import { nativeKernels } from './kernels/native.ts';
import { ASOF_BACKWARD_FUSED } from './parallel/asof-task.ts';
import { parallelism, runTasks } from './parallel/pool.ts';
import { isSharedData, isSharedVector, sharedArray, toShared } from './parallel/shared.ts';

export { AsofConfigError } from './asof-columns.ts';
export { type AsofStrategy, AsofUnsortedError } from './kernels/asof.ts';

/** Options of {@link asofJoin}, named as Polars `join_asof` names them. */
export interface AsofJoinOptions {
  /** The `on` column of both sides (or `left_on` and `right_on`). */
  on?: string;
  left_on?: string;
  right_on?: string;
  /** Equality keys of both sides (or `by_left` and `by_right`). */
  by?: string | readonly string[];
  by_left?: string | readonly string[];
  by_right?: string | readonly string[];
  strategy?: AsofStrategy;
  /** Inclusive bound on `|left - right|`: a number in the `on` unit, or a duration string. */
  tolerance?: number | string;
  /** Default true; false gives strict `<` / `>` matching. */
  allow_exact_matches?: boolean;
  /** Appended to right column names that clash with left ones (default `_right`). */
  suffix?: string;
  /** Drop the right `on` column when it has the left's name (default true). */
  coalesce?: boolean;
}

/** Options after defaults and validation. */
export interface ResolvedAsof {
  leftOn: string;
  rightOn: string;
  byLeft: string[];
  byRight: string[];
  strategy: AsofStrategy;
  tolerance: number | string | undefined;
  allowExactMatches: boolean;
  suffix: string;
  coalesce: boolean;
}

const STRATEGIES: readonly string[] = ['backward', 'forward', 'nearest'];

function list(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

export function resolveAsofOptions(opts: AsofJoinOptions): ResolvedAsof {
  const leftOn = opts.left_on ?? opts.on;
  const rightOn = opts.right_on ?? opts.on;
  if (!leftOn || !rightOn) throw new AsofConfigError('give `on`, or both `left_on` and `right_on`');
  if (opts.on !== undefined && (opts.left_on !== undefined || opts.right_on !== undefined))
    throw new AsofConfigError('give either `on` or `left_on`/`right_on`, not both');
  const by = list(opts.by);
  if (by.length > 0 && (opts.by_left !== undefined || opts.by_right !== undefined))
    throw new AsofConfigError('give either `by` or `by_left`/`by_right`, not both');
  const byLeft = by.length ? by : list(opts.by_left);
  const byRight = by.length ? by : list(opts.by_right);
  if (byLeft.length !== byRight.length)
    throw new AsofConfigError(
      `by_left has ${byLeft.length} column(s) and by_right ${byRight.length}; they must pair up`,
    );
  const strategy = opts.strategy ?? 'backward';
  if (!STRATEGIES.includes(strategy))
    throw new AsofConfigError(`strategy "${strategy}" is not one of backward, forward, nearest`);
  return {
    leftOn,
    rightOn,
    byLeft,
    byRight,
    strategy,
    tolerance: opts.tolerance,
    allowExactMatches: opts.allow_exact_matches ?? true,
    suffix: opts.suffix ?? '_right',
    coalesce: opts.coalesce ?? true,
  };
}

/**
 * A tolerance or lateness in the unit the kernels see (µs for timestamp columns, else the column's
 * own unit). `what` names the option in messages.
 */
export function resolveSpan(value: number | string | undefined, onType: DataType, what: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  const scale = timestampScale(onType);
  if (typeof value === 'number') {
    if (!(value >= 0)) throw new AsofConfigError(`${what} must be >= 0, got ${value}`);
    return scale === undefined ? value : value * scale;
  }
  const d = parseDuration(value);
  if (!d) throw new AsofConfigError(`${what} "${value}" is not a duration (e.g. 500ms, 1s, 5m)`);
  if (scale === undefined)
    throw new AsofConfigError(
      `${what} "${value}" is a duration but the on column is ${onType}, not a timestamp`,
    );
  if (d.months !== 0) throw new AsofConfigError(`${what} "${value}" has months, which have no fixed length`);
  return fixedMicros(d);
}

/** Which right columns go to the output, under which names, and the output schema. */
export interface AsofPlan {
  schema: Schema;
  /** Right column names to gather, in output order. */
  rightColumns: string[];
  /** Tolerance in kernel units. */
  tolerance: number;
}

export function planAsof(left: Schema, right: Schema, r: ResolvedAsof): AsofPlan {
  const leftOn = left.fields.find((f) => f.name === r.leftOn);
  const rightOn = right.fields.find((f) => f.name === r.rightOn);
  if (!leftOn)
    throw new AsofConfigError(`left column "${r.leftOn}" not found; left columns are: ${names(left)}`);
  if (!rightOn)
    throw new AsofConfigError(`right column "${r.rightOn}" not found; right columns are: ${names(right)}`);
  const lts = timestampScale(leftOn.type) !== undefined;
  const rts = timestampScale(rightOn.type) !== undefined;
  if (lts !== rts)
    throw new AsofConfigError(
      `on columns differ in kind: left "${r.leftOn}" is ${leftOn.type}, right "${r.rightOn}" is ${rightOn.type}`,
    );
  for (const b of r.byLeft)
    if (!left.fields.some((f) => f.name === b))
      throw new AsofConfigError(`left by column "${b}" not found; left columns are: ${names(left)}`);
  for (const b of r.byRight)
    if (!right.fields.some((f) => f.name === b))
      throw new AsofConfigError(`right by column "${b}" not found; right columns are: ${names(right)}`);
  const fields: Field[] = [...left.fields];
  const taken = new Set(left.fields.map((f) => f.name));
  const rightColumns: string[] = [];
  for (const f of right.fields) {
    if (r.byRight.includes(f.name)) continue;
    if (f.name === r.rightOn && r.coalesce && r.leftOn === r.rightOn) continue;
    const name = taken.has(f.name) ? `${f.name}${r.suffix}` : f.name;
    if (taken.has(name))
      throw new AsofConfigError(`output column "${name}" would appear twice; choose another suffix`);
    taken.add(name);
    fields.push(new Field(name, f.type, true, f.metadata));
    rightColumns.push(f.name);
  }
  return {
    schema: new Schema(fields, left.metadata),
    rightColumns,
    tolerance: resolveSpan(r.tolerance, leftOn.type, 'tolerance'),
  };
}

function names(s: Schema): string {
  return s.fields.map((f) => f.name).join(', ') || '(none)';
}

/** Re-raise a kernel sortedness error with the column, side and group named. */
export function describeUnsorted(
  e: AsofUnsortedError,
  r: ResolvedAsof,
  keys: KeyEncoder | undefined,
): AsofUnsortedError {
  const side = e.side;
  const column = side === 'left' ? r.leftOn : r.rightOn;
  const by = side === 'left' ? r.byLeft : r.byRight;
  const group = keys && e.key >= 0 ? ` within by group ${keys.describe(e.key, by)}` : '';
  return new AsofUnsortedError(
    `asof_join: ${side} column "${column}" is not sorted${group}: row ${e.row} comes after row ${e.previousRow} ` +
      `but has a smaller value; sort the ${side} input by "${column}"${by.length ? ' within each by group' : ''}`,
    side,
    e.row,
    e.previousRow,
    e.key,
  );
}

/**
 * As-of join of two tables (see the module comment for the semantics). The output holds every
 * left row in order, the left columns as they are, then the right columns gathered by match.
 */
export function asofJoin(left: Table, right: Table, opts: AsofJoinOptions): Table {
  const r = resolveAsofOptions(opts);
  const plan = planAsof(left.schema, right.schema, r);
  let lo = onRaw(left, r.leftOn, 'left');
  let ro = onRaw(right, r.rightOn, 'right');
  const keys = r.byLeft.length ? new KeyEncoder(r.byLeft.length) : undefined;
  const leftKeys = keys?.encode(left, r.byLeft, 'left');
  const rightKeys = keys?.encode(right, r.byRight, 'right');
  if (
    r.strategy === 'backward' &&
    lo instanceof BigInt64Array &&
    ro instanceof BigInt64Array &&
    right.batches.length === 1
  ) {
    const fused = fusedJoin(left, right, r, plan, lo, ro, leftKeys, rightKeys, keys?.size ?? 1);
    if (fused) return fused;
    // Not in global time order: the general path below sorts it out (or names the unsorted
    // rows). Its own int64 merge would fail the same way, so it gets float64 values directly.
    lo = int64ToFloat64(lo);
    ro = int64ToFloat64(ro);
  }
  // With one right batch, the indices go into the output buffer of a 64-bit right column (first
  // half), which is then gathered last, in place: one large allocation fewer.
  let host = -1;
  if (right.batches.length === 1)
    plan.rightColumns.forEach((name, c) => {
      if (canHostIndices(chunksOf(right, name))) host = c;
    });
  const out = host >= 0 ? new Int32Array(new ArrayBuffer(8 * lo.length), 0, lo.length) : undefined;
  let index: Int32Array;
  try {
    index = asofJoinIndices(
      lo,
      ro,
      {
        strategy: r.strategy,
        tolerance: plan.tolerance,
        allowExactMatches: r.allowExactMatches,
        ...(keys ? { leftKeys, rightKeys, nKeys: keys.size } : {}),
      },
      out,
    );
  } catch (e) {
    if (e instanceof AsofUnsortedError) throw describeUnsorted(e, r, keys);
    throw e;
  }
  const { slot, row } = splitByBatch(right, index);
  const columns = left.schema.fields.map((f) => columnOf(left, f.name, 'left'));
  const matched = matchValidity(row);
  const gathered = plan.rightColumns.map((name, c) =>
    c === host ? undefined : gatherColumn(chunksOf(right, name), slot, row, matched),
  );
  if (host >= 0) gathered[host] = gatherColumnInPlace(chunksOf(right, plan.rightColumns[host]), row, matched);
  for (const v of gathered) columns.push(v!);
  return tableFrom(plan.schema, columns);
}

let parallelMinRows = 1_000_000;

/**
 * Left rows from which {@link asofJoin} splits the fused backward merge over the worker pool
 * (default 1M; `undefined` restores it). Tests lower it to cover the parallel path on small input.
 */
export function setAsofParallelMinRows(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1))
    throw new RangeError(`the parallel threshold must be an integer >= 1, got ${n}`);
  parallelMinRows = n ?? 1_000_000;
}

type TypedCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

/**
 * The backward join of int64 `on` columns in global time order, by the fused merge
 * (kernels/asof-fused.ts): right values are written straight into the output columns. Splits the
 * left rows over the machine's threads when there are several and the left side is large: with
 * the native kernels loaded, on threads of the native merge, whatever memory the columns live in;
 * else over the worker pool, when every column read is in shared memory (the outputs are then shared
 * too, so chained operators can split again). Returns undefined when the input is not in
 * global order (or, without exact matches, a left value is beyond 2^53), for the general path to
 * handle.
 */
function fusedJoin(
  left: Table,
  right: Table,
  r: ResolvedAsof,
  plan: AsofPlan,
  lo: BigInt64Array,
  ro: BigInt64Array,
  leftKeys: Int32Array | undefined,
  rightKeys: Int32Array | undefined,
  nKeys: number,
): Table | undefined {
  const n = lo.length;
  const sources = plan.rightColumns.map((name) => chunksOf(right, name));
  const kinds = sources.map(fusedKind);
  const threads = parallelism();
  const native = nativeKernels();
  const parallel =
    threads > 1 &&
    n >= parallelMinRows &&
    (native !== undefined ||
      ([r.leftOn, ...r.byLeft].every((name) => isSharedVector(columnOf(left, name, 'left'))) &&
        [r.rightOn, ...r.byRight].every((name) => isSharedVector(columnOf(right, name, 'right'))) &&
        sources.every((s, c) => kinds[c] === undefined || s.chunks.every(isSharedData))));
  // Pool workers can only write shared memory. Native threads write any memory, and plain
  // ArrayBuffers are collected as their size demands (V8 does not count SharedArrayBuffers towards
  // a collection, so a loop of joins would pile up their outputs until an unrelated one).
  const alloc = <T extends ArrayBufferView>(Ctor: new (b: any, o: number, n: number) => T, len: number): T =>
    parallel && native === undefined
      ? (sharedArray(Ctor as any, len) as unknown as T)
      : new Ctor(new ArrayBuffer(len * (Ctor as any).BYTES_PER_ELEMENT), 0, len);
  const cols = fusedColumns();
  const outputs: (ArrayBufferView | undefined)[] = sources.map((s, c) => {
    const kind = kinds[c];
    if (kind === undefined) return undefined;
    const src = s.chunks[0].values as ArrayBufferView & { length: number };
    const out = alloc(src.constructor as TypedCtor, n);
    if (kind === 'f64') {
      cols.f64.push(src as Float64Array);
      cols.f64Out.push(out as Float64Array);
    } else if (kind === 'w64') {
      cols.w64.push(view(Int32Array, src, src.length, 2));
      cols.w64Out.push(view(Int32Array, out, n, 2));
    } else if (kind === 'w32') {
      cols.w32.push(view(Int32Array, src, src.length, 1));
      cols.w32Out.push(view(Int32Array, out, n, 1));
    } else if (kind === 'w16') {
      cols.w16.push(view(Int16Array, src, src.length, 1));
      cols.w16Out.push(view(Int16Array, out, n, 1));
    } else {
      cols.w8.push(view(Uint8Array, src, src.length, 1));
      cols.w8Out.push(view(Uint8Array, out, n, 1));
    }
    return out;
  });
  const validity = alloc(Uint8Array, (n + 7) >> 3);
  const index = kinds.some((k) => k === undefined) ? alloc(Int32Array, n) : undefined;
  const words = (a: BigInt64Array) => new Int32Array(a.buffer, a.byteOffset, a.length * 2);
  const base: FusedPart = {
    left: words(lo),
    right: words(ro),
    leftKeys,
    rightKeys,
    nKeys,
    tolerance: plan.tolerance,
    allowExactMatches: r.allowExactMatches,
    columns: cols,
    validity,
    index,
    from: 0,
    to: n,
    jFrom: 0,
    jTo: ro.length,
  };
  let nulls: number;
  if (parallel) {
    const ranges = planBackwardParts(base.left, base.right, threads, r.allowExactMatches);
    if (ranges === undefined) return undefined;
    nulls =
      native === undefined
        ? poolJoin(base, ranges, leftKeys, rightKeys)
        : native.asofBackwardFused({ ...nativePart(base), ranges });
    if (nulls < 0) return undefined;
  } else {
    nulls = asofBackwardFused(base);
    if (nulls < 0) return undefined;
  }
  const matched = { bitmap: nulls === 0 ? undefined : validity, nullCount: nulls };
  const columns = left.schema.fields.map((f) => columnOf(left, f.name, 'left'));
  sources.forEach((s, c) => {
    const data = outputs[c];
    columns.push(
      data === undefined
        ? gatherColumn(s, undefined, index!, matched)
        : makeVector(
            makeData({
              type: s.type as any,
              length: n,
              data: data as any,
              nullBitmap: matched.bitmap,
              nullCount: nulls,
            }),
          ),
    );
  });
  return tableFrom(plan.schema, columns);
}

/** The split merge over the worker pool: the total unmatched count, or -1 when a part gave up. */
function poolJoin(
  base: FusedPart,
  ranges: readonly PartRange[],
  leftKeys: Int32Array | undefined,
  rightKeys: Int32Array | undefined,
): number {
  const shared = (a: Int32Array | undefined) => a && toShared(a);
  const common = { ...base, leftKeys: shared(leftKeys), rightKeys: shared(rightKeys) };
  const counts = runTasks<number>(
    ASOF_BACKWARD_FUSED,
    ranges.map((range) => ({ ...common, ...range })),
  );
  return counts.some((c) => c < 0) ? -1 : counts.reduce((a, b) => a + b, 0);
}

/** `rows * per` elements of kind `V` over the bytes of `a` (a column's values seen by width). */
function view<T>(
  V: new (b: ArrayBufferLike, o: number, l: number) => T,
  a: ArrayBufferView,
  rows: number,
  per: number,
): T {
  return new V(a.buffer, a.byteOffset, rows * per);
}

/** Global right row indices as (record batch, row in batch); no copy with one batch. */
function splitByBatch(right: Table, index: Int32Array): { slot: Int32Array | undefined; row: Int32Array } {
  if (right.batches.length <= 1) return { slot: undefined, row: index };
  const offsets: number[] = [];
  let o = 0;
  for (const b of right.batches) {
    offsets.push(o);
    o += b.numRows;
  }
  const slot = new Int32Array(index.length);
  const row = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) {
    const g = index[i];
    if (g < 0) {
      row[i] = -1;
      continue;
    }
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid] <= g) lo = mid;
      else hi = mid - 1;
    }
    slot[i] = lo;
    row[i] = g - offsets[lo];
  }
  return { slot, row };
}
