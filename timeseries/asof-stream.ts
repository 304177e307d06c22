/**
 * `asofJoinStream`: the streaming as-of join. The piped stream is the left side; `right$` is the
 * other input. Same options and results as {@link asofJoin}, incrementally.
 *
 * @example
 * ```ts
 * trades$.pipe(asofJoinStream(quotes$, { on: 'ts', by: 'symbol', tolerance: '1s' }))
 * ```
 *
 * **When a left row is emitted.** Right watermark `W` = max right `on` seen − `allowed_lateness`
 * (+∞ once the right side completes); every right row still to come has `on >= W` (an earlier
 * right row is late: dropped and counted in `stats.lateRightRows`). A left row is emitted once its
 * match can no longer change: backward when `W > left` (`W >= left` without exact matches);
 * forward once a match exists with `on <= W`, or when `W > left + tolerance`; nearest when
 * `W > left + min(distance of the match, tolerance)`. Left rows leave in arrival order (a row
 * waits for the rows before it), so the output, concatenated, equals `asofJoin` on the whole
 * input for any split into batches, as long as no right row is late and no key overflows
 * `max_right_rows_per_key`. `emit: 'immediate'` (backward only) matches each left row against the
 * right rows already seen and emits it at once: lower latency, but the result depends on arrival
 * timing (not split-invariant).
 *
 * **Memory.** Per key, the right rows that a current or future left row can still match: older
 * rows are dropped once superseded by a later row at or below the left lower bound `N` (the
 * smallest pending left `on`, and max left `on` − `allowed_lateness`), or once older than
 * `N − tolerance`. At most `max_right_rows_per_key` rows per key are kept (default 100,000; the
 * oldest go first, counted in `stats.evictedRightRows`). A right batch is retained while any of its
 * rows is, so memory is bounded by keys × `max_right_rows_per_key` rows plus the batches holding
 * them. Pending left rows wait for the right watermark: a silent right side holds them, unless
 * `idle_timeout_ms` is set: then, once no right batch has arrived for that long (processing time),
 * the right side's event time is taken to advance with the clock (the watermark moves up by the
 * time since its last batch, checked every `idle_timeout_ms` while left rows wait), and right rows
 * that arrive below it afterwards are late. Timestamp `on` columns only.
 *
 * **Speed.** Backward matching (`emit: 'final'`) runs as one merge over the right batches in
 * arrival order while both sides come in `on` order, writing float64 right columns straight into
 * the output (see {@link AsofMerge}); the first row out of order, or a key about to evict, hands
 * over to per-key histories for good. Results, acks and counters are the same either way. The
 * merge's hot loops (the match, the append of right rows, the conversion of left `on` values) run
 * in C when the native kernels are loaded (kernels/native.ts), else in TypeScript.
 *
 * **Acks (delivery rule).** A left batch's acks go out with the output batch that carries its last
 * row. A right batch's acks go out with the next output batch after none of its rows can be
 * matched any more (all dropped as above, or late), or with the last output when the join
 * completes; a zero-row batch carries them when there are no rows to emit. Output completes when
 * the left side has completed and every left row has been emitted.
 */
import { type Data, DataType, Precision, type RecordBatch, type Schema, Struct } from 'apache-arrow';
import { Observable as Obs, type Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { AckSet } from '../pipeline/acks.ts';
import { systemClock } from '../pipeline/clock.ts';
import type { Batch, Clock } from '../pipeline/types.ts';
import { leafData, recordBatchOf } from './arrow.ts';
import {
  AsofConfigError,
  type AsofJoinOptions,
  type AsofPlan,
  planAsof,
  type ResolvedAsof,
  resolveAsofOptions,
  resolveSpan,
} from './asof.ts';
import {
  batchFrom,
  columnOf,
  gatherColumn,
  KeyEncoder,
  matchValidity,
  onRaw,
  timestampScale,
} from './asof-columns.ts';
import { matchBits } from './kernels/asof-gather.ts';
import {
  AsofHistory,
  AsofMerge,
  droppable,
  forEachRetained,
  type LeftScan,
  matchRows,
  mergeAppend,
  mergeMatch,
  mergeMatchCarried,
  mergePrune,
  type RightScan,
  releasable,
  releasableSorted,
  scanLeft,
} from './kernels/asof-state.ts';
import { int64ToFloat64 } from './kernels/int64.ts';
import { sharedArray } from './kernels/shared-array.ts';

/** Counters of the streaming join, for metrics and tests. */
export interface AsofStreamStats {
  /** Right rows below the right watermark on arrival, dropped. */
  lateRightRows: number;
  /** Right rows dropped because their key held `max_right_rows_per_key` rows. */
  evictedRightRows: number;
  /** Left rows below max left `on` − `allowed_lateness` on arrival (still emitted). */
  lateLeftRows: number;
  emittedRows: number;
  /** Times the idle timeout moved the right watermark up. */
  idleAdvances: number;
}

export interface AsofJoinStreamOptions extends AsofJoinOptions {
  /** Lateness allowed on both inputs: a number in the `on` unit, or a duration string (default 0). */
  allowed_lateness?: number | string;
  /** Bound on the right rows kept per key (default 100,000). */
  max_right_rows_per_key?: number;
  /**
   * Processing time in ms without a right batch after which the right watermark advances with the
   * clock, so left rows go out while the right side is quiet (timestamp `on` columns only).
   */
  idle_timeout_ms?: number;
  /** `final` (default): emit when the match is final; `immediate`: at once (backward only). */
  emit?: 'final' | 'immediate';
  /** Schema of the right stream, when known before its first batch (output schema). */
  right_schema?: Schema;
  /** Name of the output stream (default: the left batches' stream). */
  stream?: string;
  /** Counters, updated in place. */
  stats?: AsofStreamStats;
}

export const DEFAULT_MAX_RIGHT_ROWS_PER_KEY = 100_000;

export function newAsofStreamStats(): AsofStreamStats {
  return { lateRightRows: 0, evictedRightRows: 0, lateLeftRows: 0, emittedRows: 0, idleAdvances: 0 };
}

interface RightSlot {
  batch: RecordBatch;
  acks: AckSet;
  live: number;
  filling: boolean;
  /** The batch's chunks of the output's right columns, in plan order (read once, on first use). */
  columns?: Data[];
}

interface PendingLeft {
  batch: RecordBatch;
  acks: AckSet;
  on: Float64Array;
  keys: Int32Array | undefined;
  next: number;
  /** Smallest `on` of the batch: a lower bound on its rows still pending. */
  min: number;
  /** Whether `on` is non-decreasing (NaN aside): then the next pending row has the smallest. */
  sorted: boolean;
  /** Whether `on` is non-decreasing and free of NaN (sorted int64 values): binary searches hold. */
  ordered: boolean;
  /** The buffer under `on` when it came from {@link AsofStreamState.onBuffers}, to reuse. */
  buffer: Float64Array | undefined;
}

/** Float64 buffers kept for the `on` values of later left batches. */
const MAX_FREE_ON_BUFFERS = 4;

class AsofStreamState {
  private readonly keys: KeyEncoder | undefined;
  private readonly histories: AsofHistory[] = [];
  private readonly slots: (RightSlot | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private deadAcks: AckSet[] = [];
  private readonly pending: PendingLeft[] = [];
  private pendingRows = 0;
  private leftSchema: Schema | undefined;
  private rightSchema: Schema | undefined;
  private plan: AsofPlan | undefined;
  private tolerance = Number.POSITIVE_INFINITY;
  private lateness = 0;
  private spansResolved = false;
  private maxRight = Number.NEGATIVE_INFINITY;
  private maxLeft = Number.NEGATIVE_INFINITY;
  private rightDone = false;
  private leftDone = false;
  private finished = false;
  private streamName: string | undefined;
  private readonly maxRows: number;
  private readonly immediate: boolean;
  private readonly stats: AsofStreamStats;
  /** Match buffers, reused: the output batches keep no reference to them. */
  private scratchSlot = new Int32Array(0);
  private scratchRow = new Int32Array(0);
  private scratchOn = new Float64Array(0);
  private scratchBits = new Uint8Array(0);
  private readonly onBuffers: Float64Array[] = [];
  private rightTypesCache: DataType[] | undefined;
  /** The output batches' Struct type, for {@link outStructPlan}. */
  private outStruct: Struct | undefined;
  private outStructPlan: AsofPlan | undefined;
  private readonly scan: LeftScan = { max: 0, min: 0, sorted: true, late: 0 };
  private rightTypesPlan: AsofPlan | undefined;
  /**
   * Backward (final) matching by one global merge while both sides come in `on` order (see
   * {@link AsofMerge}); undefined once the per-key histories have taken over, for good.
   */
  private merge: AsofMerge | undefined;
  private readonly rightScan: RightScan = { max: 0, late: 0, live: 0 };
  /** Whether the merge was told whether to carry the right columns' values (once the plan is known). */
  private carryDecided = false;
  /** Idle timeout: when the last right batch arrived (clock ms), the timer, and the `on` max then. */
  private readonly idleMs: number | undefined;
  private lastRightMs: number;
  private idleBase = Number.NEGATIVE_INFINITY;
  private idleTimer: Subscription | undefined;

  constructor(
    private readonly r: ResolvedAsof,
    private readonly opts: AsofJoinStreamOptions,
    private readonly emit: (b: Batch) => void,
    private readonly complete: () => void,
    private readonly clock: Clock,
    /** Errors raised outside an input's callbacks (the idle timer). */
    private readonly fail: (e: unknown) => void,
  ) {
    this.idleMs = opts.idle_timeout_ms;
    if (this.idleMs !== undefined && !(this.idleMs > 0))
      throw new AsofConfigError(`idle_timeout must be > 0 ms, got ${this.idleMs}`);
    this.lastRightMs = clock.now();
    this.keys = r.byLeft.length ? new KeyEncoder(r.byLeft.length) : undefined;
    this.maxRows = opts.max_right_rows_per_key ?? DEFAULT_MAX_RIGHT_ROWS_PER_KEY;
    if (!(this.maxRows >= 1)) throw new AsofConfigError('max_right_rows_per_key must be >= 1');
    this.immediate = opts.emit === 'immediate';
    if (this.immediate && r.strategy !== 'backward')
      throw new AsofConfigError(`emit: immediate needs strategy backward, not ${r.strategy}`);
    this.rightSchema = opts.right_schema;
    this.streamName = opts.stream;
    this.stats = opts.stats ?? newAsofStreamStats();
    if (r.strategy === 'backward' && !this.immediate) {
      this.merge = new AsofMerge();
      this.merge.ensureKeys(1);
    }
  }

  /**
   * Leave merge mode: build the per-key histories from what the merge retains (the prevailing row
   * at the prune cursor while live, then every row after the cursor), the same rows the histories
   * would hold had they been used from the start.
   */
  private toHistories(): void {
    const m = this.merge;
    if (m === undefined) return;
    this.merge = undefined;
    forEachRetained(m, (k, t, slot, row) => this.history(k).insert(t, slot, row));
  }

  private resolveSpans(schema: Schema, on: string): void {
    if (this.spansResolved) return;
    const f = schema.fields.find((x) => x.name === on);
    if (!f) return;
    if (this.idleMs !== undefined && timestampScale(f.type) === undefined)
      throw new AsofConfigError(
        `idle_timeout needs a timestamp on column: "${on}" is ${f.type}, with no link to the clock`,
      );
    this.tolerance = resolveSpan(this.r.tolerance, f.type, 'tolerance');
    const lateness = resolveSpan(this.opts.allowed_lateness, f.type, 'allowed_lateness');
    this.lateness = lateness === Number.POSITIVE_INFINITY ? 0 : lateness;
    this.spansResolved = true;
  }

  private get watermark(): number {
    return this.rightDone ? Number.POSITIVE_INFINITY : this.maxRight - this.lateness;
  }

  private history(k: number): AsofHistory {
    let h = this.histories[k];
    if (h === undefined) {
      h = new AsofHistory();
      this.histories[k] = h;
    }
    return h;
  }

  /** `count` retained rows of `slot` were dropped; the slot is freed with its last one. */
  private readonly release = (slot: number, count: number): void => {
    const s = this.slots[slot]!;
    s.live -= count;
    if (s.live === 0 && !s.filling) this.freeSlot(slot);
  };

  private freeSlot(slot: number): void {
    this.deadAcks.push(this.slots[slot]!.acks);
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
  }

  onRight(b: Batch): void {
    this.lastRightMs = this.clock.now();
    const data = b.data;
    this.rightSchema ??= data.schema;
    this.resolveSpans(data.schema, this.r.rightOn);
    const slot = this.freeSlots.pop() ?? this.slots.length;
    const s: RightSlot = { batch: data, acks: b.acks, live: 0, filling: true };
    this.slots[slot] = s;
    if (data.numRows > 0 && this.merge !== undefined) {
      const m = this.merge;
      const raw = onRaw(data, this.r.rightOn, 'right');
      const keys = this.keys?.encode(data, this.r.byRight, 'right');
      if (this.keys) m.ensureKeys(this.keys.size);
      const e = m.entry(raw.length, slot);
      const res = this.rightScan;
      if (mergeAppend(m, e, raw, keys, this.maxRight, this.lateness, this.maxRows, res)) {
        m.log.push(e);
        s.live = res.live;
        this.maxRight = res.max;
        this.stats.lateRightRows += res.late;
        s.filling = false;
        if (s.live === 0) this.freeSlot(slot);
        this.idleBase = this.maxRight;
        this.step();
        return;
      }
      m.free.push(e);
      this.toHistories();
    }
    if (data.numRows > 0) {
      const raw = onRaw(data, this.r.rightOn, 'right');
      if (raw instanceof BigInt64Array && this.scratchOn.length < raw.length)
        this.scratchOn = new Float64Array(raw.length);
      // Right `on` values are copied into the histories, so one buffer serves every batch.
      const on =
        raw instanceof BigInt64Array ? int64ToFloat64(raw, this.scratchOn).subarray(0, raw.length) : raw;
      const keys = this.keys?.encode(data, this.r.byRight, 'right');
      const lateness = this.lateness;
      const maxRows = this.maxRows;
      let max = this.maxRight;
      let late = 0;
      let live = 0;
      for (let j = 0; j < on.length; j++) {
        const t = on[j];
        const k = keys ? keys[j] : 0;
        if (Number.isNaN(t) || k < 0) continue;
        if (t < max - lateness) {
          late++;
          continue;
        }
        if (t > max) max = t;
        const h = this.histories[k] ?? this.history(k);
        h.insert(t, slot, j);
        live++;
        if (h.end - h.start > maxRows) {
          const n = h.end - h.start - maxRows;
          this.stats.evictedRightRows += n;
          s.live = live;
          h.dropFrontRuns(n, this.release);
          live = s.live;
        }
      }
      s.live = live;
      this.maxRight = max;
      this.stats.lateRightRows += late;
    }
    s.filling = false;
    if (s.live === 0) this.freeSlot(slot);
    this.idleBase = this.maxRight;
    this.step();
  }

  /**
   * The idle timer: when the right side has been quiet for the idle timeout, its event time is
   * taken to have moved on with the clock since its last batch (µs for timestamp `on` columns).
   */
  private onIdle(): void {
    this.idleTimer = undefined;
    if (this.finished || this.rightDone) return;
    const quietMs = this.clock.now() - this.lastRightMs;
    const advanced = this.idleBase + quietMs * 1000;
    if (quietMs >= this.idleMs! && advanced > this.maxRight) {
      this.maxRight = advanced;
      this.stats.idleAdvances++;
    }
    try {
      this.step();
    } catch (e) {
      this.dispose();
      this.fail(e);
    }
  }

  /** Check the idle timeout again in `idle_timeout_ms` while left rows wait for the right side. */
  private armIdle(): void {
    if (this.idleMs === undefined || this.idleTimer || this.finished || this.rightDone) return;
    if (this.pendingRows === 0) return;
    this.idleTimer = this.clock.scheduler.schedule(() => this.onIdle(), this.idleMs);
  }

  /** Stop the idle timer (the join finished or was unsubscribed). */
  dispose(): void {
    this.idleTimer?.unsubscribe();
    this.idleTimer = undefined;
  }

  onRightComplete(): void {
    this.rightDone = true;
    this.step();
  }

  onLeft(b: Batch): void {
    const data = b.data;
    this.leftSchema ??= data.schema;
    this.streamName ??= b.stream;
    this.resolveSpans(data.schema, this.r.leftOn);
    // int64 `on` values are converted into a reused buffer (returned when the batch leaves), in
    // the same pass that finds the batch's min, max, order and late rows.
    let on: Float64Array;
    let buffer: Float64Array | undefined;
    let int64 = false;
    const scan = this.scan;
    if (data.numRows === 0) {
      on = new Float64Array(0);
      scan.max = this.maxLeft;
      scan.min = Number.POSITIVE_INFINITY;
      scan.sorted = true;
      scan.late = 0;
    } else {
      const raw = onRaw(data, this.r.leftOn, 'left');
      if (raw instanceof BigInt64Array) {
        int64 = true;
        buffer = this.onBuffers.pop();
        if (buffer === undefined || buffer.length < raw.length)
          buffer = sharedArray(Float64Array, raw.length);
        on = buffer.subarray(0, raw.length);
      } else on = raw;
      scanLeft(raw, buffer, this.maxLeft, this.lateness, scan);
    }
    const keys = data.numRows > 0 ? this.keys?.encode(data, this.r.byLeft, 'left') : undefined;
    const { min, sorted } = scan;
    // Merge mode needs left rows in order across batches too.
    if (this.merge !== undefined && (!sorted || min < this.maxLeft)) this.toHistories();
    if (this.merge !== undefined && this.keys) this.merge.ensureKeys(this.keys.size);
    this.maxLeft = scan.max;
    this.stats.lateLeftRows += scan.late;
    const ordered = sorted && (int64 || on.length === 0);
    this.pending.push({ batch: data, acks: b.acks, on, keys, next: 0, min, sorted, ordered, buffer });
    this.pendingRows += on.length;
    this.step();
  }

  onLeftComplete(): void {
    this.leftDone = true;
    this.step();
  }

  private outputPlan(): AsofPlan | undefined {
    if (this.plan) return this.plan;
    if (!this.leftSchema) return undefined;
    if (this.rightSchema) this.plan = planAsof(this.leftSchema, this.rightSchema, this.r);
    else if (this.rightDone)
      this.plan = { schema: this.leftSchema, rightColumns: [], tolerance: Number.POSITIVE_INFINITY };
    return this.plan;
  }

  /** Emit what is final, drop what can no longer match, finish when everything is out. */
  private step(): void {
    if (this.finished) return;
    const plan = this.outputPlan();
    const outs = plan ? this.collect(plan) : [];
    this.prune();
    const draining = this.leftDone && this.pendingRows === 0;
    if (draining) for (let i = 0; i < this.slots.length; i++) if (this.slots[i]) this.freeSlot(i);
    if (plan) {
      if (this.deadAcks.length > 0) {
        if (outs.length === 0) outs.push({ data: this.emptyBatch(plan), acks: [] });
        outs[outs.length - 1].acks.push(...this.deadAcks);
        this.deadAcks = [];
      }
      for (const o of outs) this.send(o.data, o.acks);
    } else if (draining) {
      // No left row ever needed output: nothing was derived from these rows, release them.
      for (const p of this.pending.splice(0)) p.acks.ack();
      for (const a of this.deadAcks) a.ack();
      this.deadAcks = [];
    }
    if (draining) {
      this.finished = true;
      this.dispose();
      this.complete();
    } else this.armIdle();
  }

  private send(data: RecordBatch, acks: AckSet[]): void {
    this.stats.emittedRows += data.numRows;
    this.emit({ stream: this.streamName ?? 'asof_join', data, acks: AckSet.merge(acks) });
  }

  /**
   * The final left rows at the head of the queue, joined: one output batch per left batch
   * segment (left columns are zero-copy slices), a batch's acks with its last row.
   */
  private collect(plan: AsofPlan): { data: RecordBatch; acks: AckSet[] }[] {
    const r = this.r;
    const w = this.watermark;
    const outs: { data: RecordBatch; acks: AckSet[] }[] = [];
    while (this.pending.length > 0) {
      const p = this.pending[0];
      const from = p.next;
      const n = p.on.length;
      if (this.scratchSlot.length < n - from) {
        this.scratchSlot = sharedArray(Int32Array, n - from);
        this.scratchRow = sharedArray(Int32Array, n - from);
      }
      const rightSlot = this.scratchSlot;
      const rightRow = this.scratchRow;
      const merge = this.merge;
      let values: Float64Array[] | undefined;
      let nulls = 0;
      let i: number;
      if (merge !== undefined) {
        i = p.ordered
          ? releasableSorted(p.on, from, n, w, r.allowExactMatches)
          : releasable(p.on, from, n, w, r.allowExactMatches);
        if (i > from) values = this.carriedValues(plan, merge, i - from);
        const bytes = (i - from + 7) >> 3;
        if (this.scratchBits.length < bytes) this.scratchBits = sharedArray(Uint8Array, bytes);
        if (values !== undefined && merge.values <= 2) {
          this.scratchBits.fill(0, 0, bytes);
          nulls = mergeMatchCarried(
            merge,
            p.on,
            p.keys,
            from,
            i,
            r.allowExactMatches,
            this.tolerance,
            values,
            this.scratchBits,
          );
        } else if (i > from) {
          mergeMatch(
            merge,
            p.on,
            p.keys,
            from,
            i,
            r.allowExactMatches,
            this.tolerance,
            rightSlot,
            rightRow,
            values,
          );
          if (values !== undefined) nulls = matchBits(rightRow, i - from, this.scratchBits);
        }
      } else
        i = matchRows(
          this.histories,
          p.on,
          p.keys,
          from,
          n,
          r.strategy,
          r.allowExactMatches,
          this.tolerance,
          w,
          this.immediate,
          rightSlot,
          rightRow,
        );
      const m = i - from;
      if (m > 0) {
        const columns = this.leftColumns(plan, p.batch, from, m);
        outs.push({
          data:
            values !== undefined
              ? this.buildCarried(plan, columns, m, values, nulls)
              : this.build(plan, columns, rightSlot.subarray(0, m), rightRow.subarray(0, m)),
          acks: [],
        });
        p.next = i;
        this.pendingRows -= m;
      }
      if (i < n) break;
      this.pending.shift();
      if (p.buffer !== undefined && this.onBuffers.length < MAX_FREE_ON_BUFFERS)
        this.onBuffers.push(p.buffer);
      if (outs.length === 0) outs.push({ data: this.emptyBatch(plan), acks: [] });
      outs[outs.length - 1].acks.push(p.acks);
    }
    return outs;
  }

  private emptyBatch(plan: AsofPlan): RecordBatch {
    const columns = plan.schema.fields.map((f) =>
      gatherColumn({ type: f.type, chunks: [] }, undefined, new Int32Array(0)),
    );
    return batchFrom(plan.schema, columns, 0);
  }

  /**
   * Rows `from..from+m-1` of a left batch's columns (zero-copy slices of their data), with room
   * for the right columns after them.
   */
  private leftColumns(plan: AsofPlan, batch: RecordBatch, from: number, m: number): Data[] {
    const children = batch.data.children;
    const columns: Data[] = new Array(children.length + plan.rightColumns.length);
    const whole = from === 0 && m === batch.numRows;
    for (let c = 0; c < children.length; c++) columns[c] = whole ? children[c] : children[c].slice(from, m);
    return columns;
  }

  /**
   * The output batch over its columns, `m` rows each (see {@link recordBatchOf}: Arrow's
   * constructor would rebuild the schema for every batch).
   */
  private batchOf(plan: AsofPlan, columns: Data[], m: number): RecordBatch {
    if (this.outStruct === undefined || this.outStructPlan !== plan) {
      this.outStruct = new Struct(plan.schema.fields);
      this.outStructPlan = plan;
    }
    return recordBatchOf(plan.schema, this.outStruct, columns, m);
  }

  /** Left columns (from {@link leftColumns}), right columns gathered from the retained right batches. */
  private build(plan: AsofPlan, columns: Data[], rightSlot: Int32Array, rightRow: Int32Array): RecordBatch {
    // Right columns gathered into the slots after the left ones. Plain loops, no closures: this
    // runs once per output batch and must stay optimised.
    let col = columns.length - plan.rightColumns.length;
    const names = plan.rightColumns;
    if (names.length) {
      const types = this.rightTypes(plan);
      const matched = matchValidity(rightRow);
      // Rows matched in one right batch (the usual case for time-ordered input) gather from it alone.
      let only = -1;
      for (let i = 0; i < rightRow.length; i++) {
        if (rightRow[i] < 0) continue;
        if (only < 0) only = rightSlot[i];
        else if (rightSlot[i] !== only) {
          only = -1;
          break;
        }
      }
      let live: RightSlot | undefined;
      if (only >= 0) live = this.slots[only];
      else for (let s = 0; s < this.slots.length && live === undefined; s++) live = this.slots[s];
      const placeholder = live ? this.slotColumns(live, names) : undefined;
      let chunksBySlot: Data[][] | undefined;
      for (let c = 0; c < names.length; c++) {
        const type = types[c];
        if (only >= 0 && !DataType.isDictionary(type))
          columns[col++] = gatherColumn(
            { type, chunks: [placeholder![c]] },
            undefined,
            rightRow,
            matched,
          ).data[0];
        else {
          let chunks: Data[] = [];
          if (placeholder) {
            if (chunksBySlot === undefined) {
              chunksBySlot = [];
              for (let s = 0; s < this.slots.length; s++) {
                const sl = this.slots[s];
                chunksBySlot.push(sl ? this.slotColumns(sl, names) : placeholder);
              }
            }
            chunks = new Array(chunksBySlot.length);
            for (let s = 0; s < chunksBySlot.length; s++) chunks[s] = chunksBySlot[s][c];
          }
          columns[col++] = gatherColumn({ type, chunks }, rightSlot, rightRow, matched).data[0];
        }
      }
    }
    return this.batchOf(plan, columns, rightRow.length);
  }

  /**
   * Output arrays for `m` rows of the right columns when the merge carries their values, after
   * making sure it does when it can: every right column float64 (decided once), and each log entry
   * still to be passed resolved to its batch's values, or the merge stops carrying them for good
   * at the first batch with nulls in one (then the columns are gathered by slot and row).
   */
  private carriedValues(plan: AsofPlan, m: AsofMerge, rows: number): Float64Array[] | undefined {
    const names = plan.rightColumns;
    if (!this.carryDecided) {
      this.carryDecided = true;
      const all =
        names.length > 0 &&
        this.rightTypes(plan).every((t) => DataType.isFloat(t) && t.precision === Precision.DOUBLE);
      if (all) m.setValues(names.length);
    }
    if (m.values === 0) return undefined;
    for (let e = m.mEntry; e < m.log.length; e++) {
      const ent = m.log[e];
      if (ent.vals !== undefined) continue;
      const s = this.slots[ent.slot];
      // A freed slot's rows are all dropped: the merge may pass them but never outputs their
      // values, so its `on` values stand in.
      if (s === undefined || s.batch.numRows !== ent.length) {
        ent.vals = names.map(() => ent.on);
        continue;
      }
      const cols = this.slotColumns(s, names);
      const vals: Float64Array[] = [];
      for (const d of cols) {
        if (d.nullCount > 0 || !(d.values instanceof Float64Array)) {
          m.setValues(0);
          return undefined;
        }
        vals.push(d.values);
      }
      ent.vals = vals;
    }
    // One buffer a column: a buffer for all (160 KB for 10k rows and two columns) was slower on
    // the bench, as allocations from 128 KB on are mapped and unmapped by the C allocator each time.
    // Shared buffers (sharedArray): V8 does not count them towards a collection, unlike memory
    // from Buffer.allocUnsafeSlow (uninitialised, so cheaper to allocate), which made the bench
    // run 2.5 more full collections per 10M rows and took 1.3x the time. The other side of it:
    // columns the consumer dropped are freed by the next collection that other garbage brings
    // about, and the join itself makes little (none in the bench's 10M-row run, whose 160 MB of
    // output columns stayed mapped until its end). The output columns can also go to the worker
    // pool as they are.
    const out: Float64Array[] = new Array(names.length);
    for (let c = 0; c < names.length; c++) out[c] = sharedArray(Float64Array, rows);
    return out;
  }

  /** Left columns (from {@link leftColumns}), right columns from the values the merge wrote. */
  private buildCarried(
    plan: AsofPlan,
    columns: Data[],
    m: number,
    values: Float64Array[],
    nullCount: number,
  ): RecordBatch {
    const types = this.rightTypes(plan);
    const at = columns.length - values.length;
    // The merge wrote the validity into a reused buffer: copied out only when some row is
    // unmatched (rare).
    const bitmap = nullCount > 0 ? this.scratchBits.slice(0, (m + 7) >> 3) : undefined;
    for (let c = 0; c < values.length; c++)
      columns[at + c] = leafData(types[c], m, values[c], bitmap, nullCount);
    return this.batchOf(plan, columns, m);
  }

  /** The batch's chunks of the output's right columns, in plan order (read once, on first use). */
  private slotColumns(s: RightSlot, names: readonly string[]): Data[] {
    let cols = s.columns;
    if (cols === undefined) {
      cols = new Array(names.length);
      for (let c = 0; c < names.length; c++) cols[c] = columnOf(s.batch, names[c], 'right').data[0];
      s.columns = cols;
    }
    return cols;
  }

  /** Types of the output's right columns, in plan order (looked up once). */
  private rightTypes(plan: AsofPlan): DataType[] {
    if (this.rightTypesCache === undefined || this.rightTypesPlan !== plan) {
      const fields = this.rightSchema!.fields;
      this.rightTypesCache = plan.rightColumns.map((name) => fields.find((f) => f.name === name)!.type);
      this.rightTypesPlan = plan;
    }
    return this.rightTypesCache;
  }

  /** Drop right rows that no pending or future left row can match. */
  private prune(): void {
    let n = this.maxLeft - this.lateness;
    for (const p of this.pending) {
      let lo = p.min;
      if (p.sorted) {
        let i = p.next;
        while (i < p.on.length && Number.isNaN(p.on[i])) i++;
        lo = i < p.on.length ? p.on[i] : Number.POSITIVE_INFINITY;
      } else if (p.next >= p.on.length) lo = Number.POSITIVE_INFINITY;
      if (lo < n) n = lo;
    }
    if (n === Number.NEGATIVE_INFINITY) return;
    const r = this.r;
    if (this.merge !== undefined) {
      mergePrune(this.merge, n, r.allowExactMatches, this.tolerance, this.release);
      return;
    }
    for (const h of this.histories) {
      if (h === undefined || h.size === 0) continue;
      const d = droppable(h, n, r.strategy, r.allowExactMatches, this.tolerance);
      if (d > 0) h.dropFrontRuns(d, this.release);
    }
  }
}

/**
 * The streaming as-of join operator: the piped stream is the left side, `right$` the right side.
 * See the module comment for when rows are emitted, the memory bound and the acks.
 */
export function asofJoinStream(
  right$: Observable<Batch>,
  opts: AsofJoinStreamOptions,
  clock: Clock = systemClock,
): OperatorFunction<Batch, Batch> {
  const r = resolveAsofOptions(opts);
  return (left$) =>
    new Obs<Batch>((sub) => {
      let state: AsofStreamState;
      try {
        state = new AsofStreamState(
          r,
          opts,
          (b) => sub.next(b),
          () => sub.complete(),
          clock,
          (e) => sub.error(e),
        );
      } catch (e) {
        sub.error(e);
        return;
      }
      const guard = (f: () => void) => {
        try {
          f();
        } catch (e) {
          sub.error(e);
        }
      };
      const rightSub = right$.subscribe({
        next: (b) => guard(() => state.onRight(b)),
        error: (e) => sub.error(e),
        complete: () => guard(() => state.onRightComplete()),
      });
      const leftSub = left$.subscribe({
        next: (b) => guard(() => state.onLeft(b)),
        error: (e) => sub.error(e),
        complete: () => guard(() => state.onLeftComplete()),
      });
      return () => {
        state.dispose();
        leftSub.unsubscribe();
        rightSub.unsubscribe();
      };
    });
}
