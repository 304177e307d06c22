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
 * The kernel returns right row indices (timeseries/kernels/asof.ts); the right columns are then
 * gathered into new Arrow vectors with validity; left columns are reused as they are.
 */
import { type DataType, Field, Schema, type Table } from 'apache-arrow';
import { fixedMicros, parseDuration } from '../config/units.ts';
import {
  AsofConfigError,
  canHostIndices,
  chunksOf,
  columnOf,
  gatherColumn,
  gatherColumnInPlace,
  KeyEncoder,
  matchValidity,
  onRaw,
  tableFrom,
  timestampScale,
} from './asof-columns.ts';
import { type AsofStrategy, AsofUnsortedError, asofJoinIndices } from './kernels/asof.ts';

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
  const lo = onRaw(left, r.leftOn, 'left');
  const ro = onRaw(right, r.rightOn, 'right');
  const keys = r.byLeft.length ? new KeyEncoder(r.byLeft.length) : undefined;
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
    if (keys) {
      const leftKeys = keys.encode(left, r.byLeft, 'left');
      const rightKeys = keys.encode(right, r.byRight, 'right');
      index = asofJoinIndices(
        lo,
        ro,
        {
          strategy: r.strategy,
          tolerance: plan.tolerance,
          allowExactMatches: r.allowExactMatches,
          leftKeys,
          rightKeys,
          nKeys: keys.size,
        },
        out,
      );
    } else
      index = asofJoinIndices(
        lo,
        ro,
        { strategy: r.strategy, tolerance: plan.tolerance, allowExactMatches: r.allowExactMatches },
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
