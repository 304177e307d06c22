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
 * them. Pending left rows wait for the right watermark: a silent right side holds them.
 *
 * **Acks (delivery rule).** A left batch's acks go out with the output batch that carries its last
 * row. A right batch's acks go out with the next output batch after none of its rows can be
 * matched any more (all dropped as above, or late), or with the last output when the join
 * completes; a zero-row batch carries them when there are no rows to emit. Output completes when
 * the left side has completed and every left row has been emitted.
 */
import type { Data, RecordBatch, Schema } from 'apache-arrow';
import { Observable as Obs, type Observable, type OperatorFunction } from 'rxjs';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch } from '../pipeline/types.ts';
import {
  AsofConfigError,
  type AsofJoinOptions,
  type AsofPlan,
  planAsof,
  type ResolvedAsof,
  resolveAsofOptions,
  resolveSpan,
} from './asof.ts';
import { batchFrom, gatherColumn, KeyEncoder, onValues } from './asof-columns.ts';
import { AsofHistory, droppable, historyMatch, matchIsFinal } from './kernels/asof-state.ts';

/** Counters of the streaming join, for metrics and tests. */
export interface AsofStreamStats {
  /** Right rows below the right watermark on arrival, dropped. */
  lateRightRows: number;
  /** Right rows dropped because their key held `max_right_rows_per_key` rows. */
  evictedRightRows: number;
  /** Left rows below max left `on` − `allowed_lateness` on arrival (still emitted). */
  lateLeftRows: number;
  emittedRows: number;
}

export interface AsofJoinStreamOptions extends AsofJoinOptions {
  /** Lateness allowed on both inputs: a number in the `on` unit, or a duration string (default 0). */
  allowed_lateness?: number | string;
  /** Bound on the right rows kept per key (default 100,000). */
  max_right_rows_per_key?: number;
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
  return { lateRightRows: 0, evictedRightRows: 0, lateLeftRows: 0, emittedRows: 0 };
}

interface RightSlot {
  batch: RecordBatch;
  acks: AckSet;
  live: number;
  filling: boolean;
}

interface PendingLeft {
  batch: RecordBatch;
  acks: AckSet;
  on: Float64Array;
  keys: Int32Array | undefined;
  next: number;
}

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

  constructor(
    private readonly r: ResolvedAsof,
    private readonly opts: AsofJoinStreamOptions,
    private readonly emit: (b: Batch) => void,
    private readonly complete: () => void,
  ) {
    this.keys = r.byLeft.length ? new KeyEncoder(r.byLeft.length) : undefined;
    this.maxRows = opts.max_right_rows_per_key ?? DEFAULT_MAX_RIGHT_ROWS_PER_KEY;
    if (!(this.maxRows >= 1)) throw new AsofConfigError('max_right_rows_per_key must be >= 1');
    this.immediate = opts.emit === 'immediate';
    if (this.immediate && r.strategy !== 'backward')
      throw new AsofConfigError(`emit: immediate needs strategy backward, not ${r.strategy}`);
    this.rightSchema = opts.right_schema;
    this.streamName = opts.stream;
    this.stats = opts.stats ?? newAsofStreamStats();
  }

  private resolveSpans(schema: Schema, on: string): void {
    if (this.spansResolved) return;
    const f = schema.fields.find((x) => x.name === on);
    if (!f) return;
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

  private readonly release = (slot: number): void => {
    const s = this.slots[slot]!;
    s.live--;
    if (s.live === 0 && !s.filling) this.freeSlot(slot);
  };

  private freeSlot(slot: number): void {
    this.deadAcks.push(this.slots[slot]!.acks);
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
  }

  onRight(b: Batch): void {
    const data = b.data;
    this.rightSchema ??= data.schema;
    this.resolveSpans(data.schema, this.r.rightOn);
    const slot = this.freeSlots.pop() ?? this.slots.length;
    const s: RightSlot = { batch: data, acks: b.acks, live: 0, filling: true };
    this.slots[slot] = s;
    if (data.numRows > 0) {
      const on = onValues(data, this.r.rightOn, 'right');
      const keys = this.keys?.encode(data, this.r.byRight, 'right');
      for (let j = 0; j < on.length; j++) {
        const t = on[j];
        const k = keys ? keys[j] : 0;
        if (Number.isNaN(t) || k < 0) continue;
        if (t < this.maxRight - this.lateness) {
          this.stats.lateRightRows++;
          continue;
        }
        if (t > this.maxRight) this.maxRight = t;
        const h = this.history(k);
        h.insert(t, slot, j);
        s.live++;
        if (h.size > this.maxRows) {
          const n = h.size - this.maxRows;
          this.stats.evictedRightRows += n;
          h.dropFront(n, this.release);
        }
      }
    }
    s.filling = false;
    if (s.live === 0) this.freeSlot(slot);
    this.step();
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
    const on = data.numRows > 0 ? onValues(data, this.r.leftOn, 'left') : new Float64Array(0);
    const keys = data.numRows > 0 ? this.keys?.encode(data, this.r.byLeft, 'left') : undefined;
    for (let i = 0; i < on.length; i++) {
      const t = on[i];
      if (t < this.maxLeft - this.lateness) this.stats.lateLeftRows++;
      if (t > this.maxLeft) this.maxLeft = t;
    }
    this.pending.push({ batch: data, acks: b.acks, on, keys, next: 0 });
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
    const out = plan ? this.collect(plan) : undefined;
    this.prune();
    const draining = this.leftDone && this.pendingRows === 0;
    if (draining) for (let i = 0; i < this.slots.length; i++) if (this.slots[i]) this.freeSlot(i);
    if (plan) {
      if (out || this.deadAcks.length > 0) {
        const acks = out ? out.acks : [];
        acks.push(...this.deadAcks);
        this.deadAcks = [];
        this.send(out ? out.data : this.collectEmpty(plan), acks);
      }
    } else if (draining) {
      // No left row ever needed output: nothing was derived from these rows, release them.
      for (const p of this.pending.splice(0)) p.acks.ack();
      for (const a of this.deadAcks) a.ack();
      this.deadAcks = [];
    }
    if (draining) {
      this.finished = true;
      this.complete();
    }
  }

  private send(data: RecordBatch, acks: AckSet[]): void {
    this.stats.emittedRows += data.numRows;
    this.emit({ stream: this.streamName ?? 'asof_join', data, acks: AckSet.merge(acks) });
  }

  /** The final left rows at the head of the queue, joined; undefined when nothing is ready. */
  private collect(plan: AsofPlan): { data: RecordBatch; rows: number; acks: AckSet[] } | undefined {
    const r = this.r;
    const w = this.watermark;
    const cap = this.pendingRows;
    const leftSlot = new Int32Array(cap);
    const leftRow = new Int32Array(cap);
    const rightSlot = new Int32Array(cap);
    const rightRow = new Int32Array(cap);
    let m = 0;
    let bi = 0;
    let blocked = false;
    for (; bi < this.pending.length && !blocked; bi++) {
      const p = this.pending[bi];
      for (; p.next < p.on.length; p.next++) {
        const l = p.on[p.next];
        const k = p.keys ? p.keys[p.next] : 0;
        const h = k >= 0 ? this.histories[k] : undefined;
        const pos = h ? historyMatch(h, l, r.strategy, r.allowExactMatches, this.tolerance) : -1;
        if (!this.immediate && !matchIsFinal(h, pos, l, r.strategy, r.allowExactMatches, this.tolerance, w)) {
          blocked = true;
          break;
        }
        leftSlot[m] = bi;
        leftRow[m] = p.next;
        if (pos >= 0) {
          rightSlot[m] = h!.slot[pos];
          rightRow[m] = h!.row[pos];
        } else rightRow[m] = -1;
        m++;
      }
    }
    const done = blocked ? bi - 1 : bi;
    if (m === 0 && done === 0) return undefined;
    const used = this.pending.slice(0, bi);
    const data = this.build(
      plan,
      used,
      leftSlot.subarray(0, m),
      leftRow.subarray(0, m),
      rightSlot,
      rightRow,
      m,
    );
    const acks = this.pending.splice(0, done).map((p) => p.acks);
    this.pendingRows -= m;
    return { data, rows: m, acks };
  }

  private collectEmpty(plan: AsofPlan): RecordBatch {
    const none = new Int32Array(0);
    return this.build(plan, [], none, none, none, none, 0);
  }

  private build(
    plan: AsofPlan,
    left: PendingLeft[],
    leftSlot: Int32Array,
    leftRow: Int32Array,
    rightSlot: Int32Array,
    rightRow: Int32Array,
    m: number,
  ): RecordBatch {
    const columns = [];
    const leftFields = this.leftSchema!.fields;
    for (let c = 0; c < leftFields.length; c++) {
      const chunks: Data[] = left.map((p) => p.batch.getChildAt(c)!.data[0]);
      columns.push(gatherColumn({ type: leftFields[c].type, chunks }, leftSlot, leftRow));
    }
    if (plan.rightColumns.length) {
      const rs = rightSlot.subarray(0, m);
      const rr = rightRow.subarray(0, m);
      const live = this.slots.find((s) => s !== undefined);
      for (const name of plan.rightColumns) {
        const idx = this.rightSchema!.fields.findIndex((f) => f.name === name);
        const type = this.rightSchema!.fields[idx].type;
        const placeholder = live ? live.batch.getChildAt(idx)!.data[0] : undefined;
        const chunks: Data[] = placeholder
          ? this.slots.map((s) => (s ? s.batch.getChildAt(idx)!.data[0] : placeholder))
          : [];
        columns.push(gatherColumn({ type, chunks }, rs, rr));
      }
    }
    return batchFrom(plan.schema, columns, m);
  }

  /** Drop right rows that no pending or future left row can match. */
  private prune(): void {
    let n = this.maxLeft - this.lateness;
    for (const p of this.pending)
      for (let i = p.next; i < p.on.length; i++) {
        const t = p.on[i];
        if (t < n) n = t;
      }
    if (n === Number.NEGATIVE_INFINITY) return;
    const r = this.r;
    for (const h of this.histories) {
      if (h === undefined || h.size === 0) continue;
      const d = droppable(h, n, r.strategy, r.allowExactMatches, this.tolerance);
      if (d > 0) h.dropFront(d, this.release);
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
        leftSub.unsubscribe();
        rightSub.unsubscribe();
      };
    });
}
