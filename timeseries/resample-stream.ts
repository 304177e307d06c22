/**
 * `resampleOhlcvStream`: the streaming twin of {@link resampleOhlcv}. Open bars are kept per key
 * across batches; a bar is emitted once final, i.e. when the stream watermark (max event time seen
 * − `allowedLatenessMs`) reaches its window end (passes it when the end is closed).
 *
 * - The watermark advances once per input batch, after the batch's rows are absorbed.
 * - Late rows (in a window already final): `drop` (counted in `stats.lateDropped`) or `correct`
 *   (the bar is revised and re-emitted with `revision` + 1; closed bars are kept for
 *   `correctionHorizonMs` behind the watermark, later rows are dropped).
 * - `provisional: { intervalMs }`: every interval (scheduler time) the open bars that changed are
 *   emitted with `final = false`; final bars carry `final = true`.
 * - `idleTimeoutMs`: when no batch arrives for that long (processing time), event time is taken
 *   to advance with the clock (watermark += idle time) so bars of a quiet stream close.
 * - On complete (end of input or graceful shutdown), every open bar is emitted, marked
 *   `final = false` where that column exists, and the acks of the rows in those still-open bars
 *   are nacked ({@link OpenBarsAtEndError}): a bar cut short by a shutdown is not final, so a
 *   source that can replay redelivers its rows and the whole bar is rebuilt after the restart (a
 *   store with DEDUP UPSERT on (ts, keys) replaces the partial one). A feed that cannot replay
 *   reports the nack as dropped; the partial bar is then the best there is.
 * - Acks (DESIGN.md delivery rule): an input batch's AckSet is held until every bar containing
 *   its rows has been emitted; an output batch carries the merge of the sets it releases, and a
 *   zero-row batch is emitted when acks become releasable without a bar. On error the held sets
 *   are nacked.
 *
 * Each output batch is sorted by window start then key. Filled bars (fill ≠ none) are emitted with
 * the next real bar of their key, so they can be older than bars of other keys emitted before.
 *
 * @example
 * ```ts
 * batches$.pipe(resampleOhlcvStream({ every: '1m', by: 'symbol', allowedLatenessMs: 2000 }, clock))
 * ```
 */

import { type Data, DataType, Precision, type RecordBatch, TimeUnit } from 'apache-arrow';
import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerAction,
  type Subscription,
} from 'rxjs';
import { AckSet } from '../pipeline/acks.ts';
import { PolaroidError } from '../pipeline/errors.ts';
import type { Batch, Clock } from '../pipeline/types.ts';
import { type Columnar, float64Column, timestampsUs } from './arrow.ts';
import { takeRows } from './expr/runtime.ts';
import { int64ToFloat64 } from './kernels/int64.ts';
import { orderBars, type PushOptions, ResampleEngine } from './kernels/resample.ts';
import {
  BarBatchBuilder,
  type BarLayout,
  byColumns,
  checkTimestampColumn,
  defaultTimestampColumn,
  KeyEncoder,
  type ResampleOptions,
} from './resample.ts';

/** Options of {@link resampleOhlcvStream}: the batch options plus event-time handling. */
export interface ResampleStreamOptions extends Omit<ResampleOptions, 'order' | 'includeBoundaries'> {
  /** Watermark = max event time − this (ms). Default 0. */
  allowedLatenessMs?: number;
  /** Late rows: `drop` (default, counted) or `correct` (re-emit the revised bar). */
  late?: 'drop' | 'correct';
  /** How long (ms) behind the watermark closed bars are kept for corrections. Default 5 min. */
  correctionHorizonMs?: number;
  /** Emit provisional bars every `intervalMs`; adds the `final` column. */
  provisional?: { intervalMs: number };
  /** Close bars when no batch arrived for this long (processing time, ms). */
  idleTimeoutMs?: number;
  /** Counters, updated in place. */
  stats?: ResampleStreamStats;
}

export interface ResampleStreamStats {
  lateDropped: number;
  lateCorrected: number;
  invalidRows: number;
  barsEmitted: number;
}

const defaultClock: Clock = { now: () => Date.now(), scheduler: asyncScheduler };

/**
 * Reads a batch's time column as µs. A µs timestamp column without nulls is converted into a
 * reused buffer (the engine keeps no reference to it); otherwise a new array, NaN where null.
 */
class TimeReader {
  private scratch = new Float64Array(0);

  read(t: Columnar, name: string): Float64Array {
    const v = t.getChild(name)!;
    const type = v.type as { unit?: TimeUnit };
    if (v.nullCount === 0 && DataType.isTimestamp(v.type) && type.unit === TimeUnit.MICROSECOND) {
      if (this.scratch.length < v.length)
        this.scratch = new Float64Array(Math.max(v.length, 2 * this.scratch.length));
      let o = 0;
      for (const d of v.data) {
        int64ToFloat64(
          (d.values as BigInt64Array).subarray(0, d.length),
          this.scratch.subarray(o, o + d.length),
        );
        o += d.length;
      }
      return this.scratch.subarray(0, v.length);
    }
    const ts = timestampsUs(t, name);
    if (v.nullCount === 0) return ts;
    const out = new Float64Array(ts);
    let o = 0;
    for (const d of v.data) {
      for (let i = 0; i < d.length; i++) if (!d.getValid(i)) out[o + i] = Number.NaN;
      o += d.length;
    }
    return out;
  }
}

/** The 32-bit words of a µs timestamp column without nulls in one chunk; undefined otherwise. */
function int64Words(t: Columnar, name: string): Int32Array | undefined {
  const v = t.getChild(name)!;
  const type = v.type as { unit?: TimeUnit };
  if (
    v.nullCount !== 0 ||
    v.data.length !== 1 ||
    !DataType.isTimestamp(v.type) ||
    type.unit !== TimeUnit.MICROSECOND
  )
    return undefined;
  const d = v.data[0];
  const values = (d.values as BigInt64Array).subarray(0, d.length);
  return new Int32Array(values.buffer, values.byteOffset, 2 * d.length);
}

/** A column's single Arrow chunk, looked up without building a Vector (none of that name: undefined). */
function childData(rb: RecordBatch, name: string): Data | undefined {
  const fields = rb.schema.fields;
  for (let i = 0; i < fields.length; i++) if (fields[i].name === name) return rb.data.children[i];
  return undefined;
}

/** The first `n` values; the array itself when it has exactly `n` (as a slice's buffers do): no new view. */
function exactly(a: Float64Array, n: number): Float64Array {
  return a.length === n ? a : a.subarray(0, n);
}

/**
 * The usual batch, read with no Vector per column (each costs ~1 µs and garbage): µs times,
 * float64 price and size, at most one dictionary key column, no nulls anywhere. Undefined when
 * the batch is anything else (the general path handles it).
 */
function plainColumns(
  rb: RecordBatch,
  tsName: string,
  priceName: string,
  sizeName: string,
  by: readonly string[],
  keys: KeyEncoder,
): { words: Int32Array; codes: Int32Array | undefined; price: Float64Array; size: Float64Array } | undefined {
  if (by.length > 1) return undefined;
  const t = childData(rb, tsName);
  const p = childData(rb, priceName);
  const s = childData(rb, sizeName);
  const k = by.length ? childData(rb, by[0]) : undefined;
  if (!t || !p || !s || (by.length && !k)) return undefined;
  if (t.nullCount !== 0 || p.nullCount !== 0 || s.nullCount !== 0 || (k && k.nullCount !== 0))
    return undefined;
  if (!DataType.isTimestamp(t.type) || (t.type as { unit?: TimeUnit }).unit !== TimeUnit.MICROSECOND)
    return undefined;
  if (!DataType.isFloat(p.type) || p.type.precision !== Precision.DOUBLE) return undefined;
  if (!DataType.isFloat(s.type) || s.type.precision !== Precision.DOUBLE) return undefined;
  if (
    k &&
    !(
      DataType.isDictionary(k.type) &&
      k.dictionary &&
      k.type.indices.bitWidth === 32 &&
      k.type.indices.isSigned
    )
  )
    return undefined;
  const v = t.values as BigInt64Array;
  return {
    words: new Int32Array(v.buffer, v.byteOffset, 2 * t.length),
    codes: k ? keys.encodeDictionaryData(k) : undefined,
    price: exactly(p.values as Float64Array, p.length),
    size: exactly(s.values as Float64Array, s.length),
  };
}

/** Smallest and largest time of rows with a price (±Infinity when there are none). */
function timeRange(ts: Float64Array, price: Float64Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (Number.isNaN(price[i])) continue;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return [lo, hi];
}

/**
 * Raised into the acks of rows whose bars were still open when the input ended: the bar emitted
 * for them is partial, so the rows should be redelivered where the source can.
 */
export class OpenBarsAtEndError extends PolaroidError {
  readonly code = 'POLAROID_RESAMPLE_OPEN_AT_END';
  readonly retriable = true;
}

/** The streaming OHLCV resampler (see the module comment for semantics). */
export function resampleOhlcvStream(
  opts: ResampleStreamOptions,
  clock: Clock = defaultClock,
): OperatorFunction<Batch, Batch> {
  return (source) =>
    new Observable<Batch>((subscriber) => {
      const lateness = (opts.allowedLatenessMs ?? 0) * 1000;
      const engine = new ResampleEngine({
        ...opts,
        mode: 'stream',
        late: opts.late ?? 'drop',
        correctionHorizonUs: (opts.correctionHorizonMs ?? 300_000) * 1000,
      });
      const by = byColumns(opts.by);
      const keys = new KeyEncoder(by);
      const times = new TimeReader();
      const pushOpts: PushOptions = {};
      // Without first_observation or a time zone the grid ignores its anchor (the batch's first
      // time), so the first batch can take the int64 path too, which anchors on its first row.
      const anchorFree = opts.align !== 'first_observation' && !opts.timeZone;
      // Whether the engine has one window per row (it then tracks the latest time absorbed).
      const tracksMaxTime = engine.maxTime() !== undefined;
      const stats = opts.stats;
      let tsName = opts.indexColumn;
      let layout: BarLayout | undefined;
      let builder: BarBatchBuilder | undefined;
      let streamName = '';
      let seq = 0;
      let maxEvent = Number.NEGATIVE_INFINITY;
      let lastArrival = clock.now();
      const pending: { seq: number; acks: AckSet }[] = [];
      let idleTimer: Subscription | undefined;
      let provisionalTimer: Subscription | undefined;
      let done = false;

      let nullTimes = 0;
      const syncStats = () => {
        if (!stats) return;
        stats.lateDropped = engine.lateDropped;
        stats.lateCorrected = engine.lateCorrected;
        stats.invalidRows = engine.invalidRows + nullTimes;
      };

      /** The batch without its rows of null event time (counted as invalid): they fit no window. */
      const withoutNullTimes = (b: RecordBatch, name: string): RecordBatch => {
        // The chunk's null count first: `getChild` builds a Vector (~1 µs) per batch.
        const d = childData(b, name);
        if (!d || d.nullCount === 0) return b;
        const col = b.getChild(name)!;
        const keep = new Uint8Array(b.numRows);
        for (let i = 0; i < keep.length; i++) keep[i] = col.isValid(i) ? 1 : 0;
        nullTimes += col.nullCount;
        return takeRows(b, keep);
      };

      /** Emit the engine's pending bars with the acks that became releasable. */
      const emit = (flushAll: boolean) => {
        const frontier = flushAll ? Number.POSITIVE_INFINITY : engine.minOpenTag();
        let n = 0;
        while (n < pending.length && pending[n].seq < frontier) n++;
        const released = pending.splice(0, n).map((p) => p.acks);
        const bars = engine.out;
        syncStats();
        if (bars.length === 0 && released.length === 0) return;
        if (!layout) {
          if (bars.length === 0) {
            for (const a of released) a.ack();
            return;
          }
          throw new Error('resample_ohlcv: bars without a known schema');
        }
        builder ??= new BarBatchBuilder(keys, layout);
        const data = builder.build(bars, orderBars(bars, 'time_key'));
        if (stats) stats.barsEmitted += bars.length;
        bars.clear();
        subscriber.next({ stream: streamName, data, acks: AckSet.merge(released) });
      };

      const armIdle = () => {
        if (opts.idleTimeoutMs === undefined) return;
        idleTimer?.unsubscribe();
        idleTimer = clock.scheduler.schedule(function (this: SchedulerAction<unknown>) {
          if (done || !engine.hasOpen()) return;
          try {
            const idleUs = (clock.now() - lastArrival) * 1000;
            engine.advance(maxEvent + idleUs - lateness);
            emit(false);
          } catch (e) {
            fail(e);
            return;
          }
          if (engine.hasOpen()) this.schedule(undefined, opts.idleTimeoutMs);
        }, opts.idleTimeoutMs);
      };

      if (opts.provisional) {
        const interval = opts.provisional.intervalMs;
        provisionalTimer = clock.scheduler.schedule(function (this: SchedulerAction<unknown>) {
          if (done) return;
          try {
            engine.provisional();
            emit(false);
          } catch (e) {
            fail(e);
            return;
          }
          this.schedule(undefined, interval);
        }, interval);
      }

      const fail = (err: unknown) => {
        done = true;
        idleTimer?.unsubscribe();
        provisionalTimer?.unsubscribe();
        const reason = err instanceof Error ? err : new Error(String(err));
        for (const p of pending.splice(0)) p.acks.nack(reason);
        subscriber.error(err);
      };

      const sub = source.subscribe({
        next(batch) {
          if (done) return;
          try {
            streamName = batch.stream;
            lastArrival = clock.now();
            const mySeq = seq++;
            pending.push({ seq: mySeq, acks: batch.acks });
            let rb = batch.data;
            if (rb.numRows > 0) {
              if (!tsName) tsName = defaultTimestampColumn(rb);
              rb = withoutNullTimes(rb, tsName);
            }
            if (rb.numRows > 0 && tsName) {
              const priceName = opts.price ?? 'price';
              const sizeName = opts.size ?? 'size';
              const plain =
                (engine.hasGrid || anchorFree) && tracksMaxTime
                  ? plainColumns(rb, tsName, priceName, sizeName, by, keys)
                  : undefined;
              if (!plain) checkTimestampColumn(rb, tsName);
              if (!layout)
                layout = {
                  tsName,
                  by,
                  label: opts.label ?? 'left',
                  includeFirstLastTs: opts.includeFirstLastTs ?? false,
                  includeBoundaries: false,
                  includeFinal: opts.provisional !== undefined,
                  includeRevision: opts.late === 'correct',
                };
              pushOpts.tag = mySeq;
              pushOpts.firstUs = undefined;
              if (plain) {
                pushOpts.keyCount = keys.size;
                engine.pushInt64Times(plain.words, plain.codes, plain.price, plain.size, pushOpts);
              } else {
                const codes = keys.encode(rb);
                const price = float64Column(rb, priceName);
                const size = float64Column(rb, sizeName);
                pushOpts.keyCount = keys.size;
                const words = engine.hasGrid ? int64Words(rb, tsName) : undefined;
                if (words && tracksMaxTime) engine.pushInt64Times(words, codes, price, size, pushOpts);
                else {
                  const ts = times.read(rb, tsName);
                  const [lo, hi] = timeRange(ts, price);
                  pushOpts.firstUs = Number.isFinite(lo) ? lo : undefined;
                  if (hi > maxEvent) maxEvent = hi;
                  engine.push(ts, codes, price, size, pushOpts);
                }
              }
              const absorbed = engine.maxTime();
              if (absorbed !== undefined && absorbed > maxEvent) maxEvent = absorbed;
              if (Number.isFinite(maxEvent)) engine.advance(maxEvent - lateness);
            }
            emit(false);
            armIdle();
          } catch (e) {
            fail(e);
          }
        },
        error(err) {
          fail(err);
        },
        complete() {
          if (done) return;
          try {
            emit(false);
            const open = pending.splice(0);
            engine.flush();
            const bars = engine.out;
            // Counted before emit() hands the bars out and empties the buffer.
            const openBars = bars.length;
            bars.final.fill(0, 0, openBars);
            emit(true);
            if (open.length > 0) {
              const reason = new OpenBarsAtEndError(
                `resample_ohlcv: the input ended with ${openBars} open bar(s), emitted as partial bars; their rows are nacked so a replayable source redelivers them and the bars are rebuilt whole`,
              );
              for (const p of open) p.acks.nack(reason);
            }
          } catch (e) {
            fail(e);
            return;
          }
          done = true;
          idleTimer?.unsubscribe();
          provisionalTimer?.unsubscribe();
          subscriber.complete();
        },
      });

      return () => {
        done = true;
        sub.unsubscribe();
        idleTimer?.unsubscribe();
        provisionalTimer?.unsubscribe();
      };
    });
}
