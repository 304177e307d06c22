/**
 * OHLCV resampling kernel: trades (time, key, price, size) → bars per (key, window), in one pass
 * over time-ordered input with per-key state indexed by the key's Int32 code.
 *
 * Windows come from a {@link Grid} (see calendar.ts); `closed` says which window ends include
 * their boundary. A window is emitted only when it holds at least one trade, unless `fill` is set,
 * in which case empty windows between a key's first and last bar are emitted too.
 *
 * Null handling (NaN stands for null): a row whose time or price is NaN is ignored entirely (not a
 * trade). A row with a valid price and a NaN size is a trade for open/high/low/close/trades but
 * adds nothing to volume or vwap. vwap = Σ(price·size) / Σ size over rows with a size; it is NaN
 * (null) when that sum is 0.
 *
 * The same engine serves the batch operator (`mode: 'batch'`: input sorted per key, windows close
 * as the key's rows pass them) and the streaming operator (`mode: 'stream'`: windows close when the
 * watermark passes their end; late rows are dropped or corrected).
 */

import { PolaroidError } from '../../pipeline/errors.ts';
import { type Grid, type GridOptions, makeGrid, validateGridOptions } from './calendar.ts';

export type Closed = 'left' | 'right' | 'both' | 'none';
export type Label = 'left' | 'right';
export type Fill = 'none' | 'null' | 'prev' | 'linear' | number;
export type LateMode = 'drop' | 'correct';

export interface ResampleKernelOptions extends GridOptions {
  closed?: Closed;
  label?: Label;
  fill?: Fill;
  mode?: 'batch' | 'stream';
  late?: LateMode;
  /** Stream mode: how far (µs) behind the watermark closed bars are kept for corrections. */
  correctionHorizonUs?: number;
}

/** The input is not sorted by time within a key (batch mode). */
export class UnsortedInputError extends PolaroidError {
  readonly code = 'RESAMPLE_UNSORTED';
  readonly retriable = false;
  constructor(
    readonly row: number,
    readonly key: number,
    readonly time: number,
    readonly previous: number,
  ) {
    super(`row ${row}: time ${time} is before the previous time ${previous} of the same key`);
  }
}

/** Bars as they are emitted: growable columns. `k` is the window index on the grid. */
export class BarBuffer {
  length = 0;
  private cap: number;
  key: Int32Array;
  k: Float64Array;
  start: Float64Array;
  end: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  vwap: Float64Array;
  /** Σ price·size over the rows with a size (vwap's numerator; the parallel path merges it). */
  pv: Float64Array;
  trades: Float64Array;
  firstTs: Float64Array;
  lastTs: Float64Array;
  revision: Int32Array;
  final: Uint8Array;

  constructor(cap = 1024) {
    this.cap = Math.max(16, cap);
    this.key = new Int32Array(this.cap);
    this.k = new Float64Array(this.cap);
    this.start = new Float64Array(this.cap);
    this.end = new Float64Array(this.cap);
    this.open = new Float64Array(this.cap);
    this.high = new Float64Array(this.cap);
    this.low = new Float64Array(this.cap);
    this.close = new Float64Array(this.cap);
    this.volume = new Float64Array(this.cap);
    this.vwap = new Float64Array(this.cap);
    this.pv = new Float64Array(this.cap);
    this.trades = new Float64Array(this.cap);
    this.firstTs = new Float64Array(this.cap);
    this.lastTs = new Float64Array(this.cap);
    this.revision = new Int32Array(this.cap);
    this.final = new Uint8Array(this.cap);
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.key = g(this.key);
    this.k = g(this.k);
    this.start = g(this.start);
    this.end = g(this.end);
    this.open = g(this.open);
    this.high = g(this.high);
    this.low = g(this.low);
    this.close = g(this.close);
    this.volume = g(this.volume);
    this.vwap = g(this.vwap);
    this.pv = g(this.pv);
    this.trades = g(this.trades);
    this.firstTs = g(this.firstTs);
    this.lastTs = g(this.lastTs);
    this.revision = g(this.revision);
    this.final = g(this.final);
    this.cap = cap;
  }

  /** Append one bar; returns its index. */
  push(
    key: number,
    k: number,
    start: number,
    end: number,
    o: number,
    h: number,
    l: number,
    c: number,
    vol: number,
    vwap: number,
    n: number,
    first: number,
    last: number,
    revision: number,
    final: number,
    pv: number,
  ): number {
    if (this.length === this.cap) this.grow();
    const i = this.length++;
    this.key[i] = key;
    this.k[i] = k;
    this.start[i] = start;
    this.end[i] = end;
    this.open[i] = o;
    this.high[i] = h;
    this.low[i] = l;
    this.close[i] = c;
    this.volume[i] = vol;
    this.vwap[i] = vwap;
    this.pv[i] = pv;
    this.trades[i] = n;
    this.firstTs[i] = first;
    this.lastTs[i] = last;
    this.revision[i] = revision;
    this.final[i] = final;
    return i;
  }

  clear(): void {
    this.length = 0;
  }
}

/** The real bar a run of filled bars leads to: where `linear` interpolates towards. */
interface FillEnd {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  vwap: number;
}

/** Scratch {@link FillEnd} of the emit path (no object per gap). */
const FILL_TO: FillEnd = { start: 0, open: 0, high: 0, low: 0, close: 0, vwap: 0 };

/** One window's running aggregates (used off the fast path). */
class Agg {
  open: number;
  high: number;
  low: number;
  close: number;
  vol = 0;
  pv = 0;
  n = 1;
  first: number;
  last: number;
  dirty = 1;
  revision = 0;
  constructor(
    readonly k: number,
    readonly start: number,
    readonly end: number,
    readonly tag: number,
    t: number,
    p: number,
    s: number,
  ) {
    this.open = p;
    this.high = p;
    this.low = p;
    this.close = p;
    this.first = t;
    this.last = t;
    if (!Number.isNaN(s)) {
      this.vol = s;
      this.pv = p * s;
    }
  }

  /** The volume-weighted price of the window's rows (NaN without volume). */
  get vwap(): number {
    return this.vol > 0 ? this.pv / this.vol : Number.NaN;
  }

  /** Add a row; rows may come out of time order (stream lateness): open/close follow time. */
  add(t: number, p: number, s: number): void {
    if (p > this.high) this.high = p;
    if (p < this.low) this.low = p;
    if (t >= this.last) {
      this.close = p;
      this.last = t;
    } else if (t < this.first) {
      this.open = p;
      this.first = t;
    }
    this.n++;
    if (!Number.isNaN(s)) {
      this.vol += s;
      this.pv += p * s;
    }
    this.dirty = 1;
  }
}

/** Options of {@link ResampleEngine.push}. */
export interface PushOptions {
  /** First row to read (default 0). */
  from?: number;
  /** One past the last row to read (default: all). */
  to?: number;
  /** Marks the windows these rows open (the streaming operator's batch sequence, for acks). */
  tag?: number;
  /** Anchors the grid if it does not exist yet (default: the first valid time). */
  firstUs?: number;
  /** Added to row numbers in errors (when columns are fed in blocks). */
  rowBase?: number;
  /** Key codes are below this (skips scanning the key column). */
  keyCount?: number;
}

const NONE = Number.NaN;
const TWO_32 = 4294967296;
const BITS_F64 = new Float64Array(1);
const BITS_I32 = new Int32Array(BITS_F64.buffer);

/**
 * An int64 µs time `v` (integral, 0 <= v < 2^53) as the float64 with the same bits. For
 * non-negative int64 values that map is monotonic (IEEE-754 orders non-negative doubles like their
 * bit patterns, denormals included), so in-window and in-order checks can compare the int64 column
 * read through a Float64Array view: one load per row and no int → float conversion.
 */
function timeBits(v: number): number {
  const hi = Math.floor(v / TWO_32);
  BITS_I32[0] = (v - hi * TWO_32) | 0;
  BITS_I32[1] = hi | 0;
  return BITS_F64[0];
}

/** Inverse of {@link timeBits}. */
function bitsTime(b: number): number {
  BITS_F64[0] = b;
  return BITS_I32[1] * TWO_32 + (BITS_I32[0] >>> 0);
}

/** Layout of a current-window record (stride REC = 16 float64s). */
const REC = 16;
const END = 0;
const HIGH = 1;
const LOW = 2;
const CLOSE = 3;
const COUNT = 4;
const VOL = 5;
const PV = 6;
const LAST = 7;
const START = 8;
const OPEN = 9;
const FIRST = 10;
const WIN = 11;
const TAG = 12;
const PROV_N = 13;
/**
 * The int64 µs path compares times as the raw bits of the int64 read as a float64 (see
 * {@link timeBits}): LIM_BITS is the window's exclusive limit and LAST_BITS the last time, in that
 * form. LIM_BITS is NaN when there is no current window and -Infinity when the window starts before
 * 1970 (such windows take the slow path).
 */
const LIM_BITS = 14;
const LAST_BITS = 15;
const ABSORBED = 0;
const LATE_CORRECTED = 1;
const LATE_DROPPED = 2;

/**
 * The resampling state machine. Feed rows with {@link push}; in stream mode call {@link advance}
 * with the watermark after each batch; {@link flush} emits what is still open. Bars accumulate in
 * {@link out}, per key in window order (plus corrections in stream mode).
 */
export class ResampleEngine {
  readonly out = new BarBuffer();
  /** Rows that fell in a final window and were dropped (stream mode). */
  lateDropped = 0;
  /** Rows that fell in a final window and revised a bar (stream mode, `late: correct`). */
  lateCorrected = 0;
  /** Rows ignored because their time or price is null/NaN. */
  invalidRows = 0;

  private grid: Grid | undefined;
  private readonly loIncl: boolean;
  private readonly hiIncl: boolean;
  private readonly simple: boolean;
  private readonly batch: boolean;
  private readonly fillKind: 'none' | 'null' | 'prev' | 'linear' | 'const';
  private readonly fillValue: number;
  private readonly correct: boolean;
  private readonly horizon: number;
  private wm = Number.NEGATIVE_INFINITY;

  private keyCap = 0;
  /**
   * Fast path: each key's current window as one record of {@link REC} float64s (hot fields in the
   * first cache line), at `key << 4`. WIN/START/END are NaN when the key has no current window.
   *
   * A plain array of doubles, not a Float64Array: once any ArrayBuffer in the process has been
   * detached (apache-arrow's load does it), V8 checks the buffer on every typed-array access in
   * optimised code, and this record is read and written several times per row (10M rows, 8 keys:
   * 120 ms with a Float64Array, 90 ms with this).
   */
  private cur: number[] = [];
  /** Last time seen per key (batch mode sortedness check, general path). */
  private lastT = new Float64Array(0);
  /** First valid time per key (batch mode; NaN before the key's first row), see {@link keyTimeRanges}. */
  private firstT = new Float64Array(0);
  /** Open windows off the fast path, per key, sorted by k. */
  private openList: Agg[][] = [];
  /** Emitted bars kept for corrections (stream, late: correct), per key. */
  private closedBars: Map<number, Agg>[] = [];
  /**
   * Stream mode with `late: correct` and `fill`: per key, the revision of each filled bar emitted
   * within the correction horizon (window → revision), so a refill emits the next one.
   */
  private filledRevs: Map<number, number>[] = [];
  /**
   * Stream mode with `late: correct`: per key, the newest real bar dropped from `closedBars` (past
   * the horizon), the left end of the windows a `linear` refill recomputes.
   */
  private anchors: (Agg | undefined)[] = [];
  /** Last emitted real bar per key, for fill. */
  private lastK = new Float64Array(0);
  private firstK = new Float64Array(0);
  private lastStart = new Float64Array(0);
  private lastO = new Float64Array(0);
  private lastH = new Float64Array(0);
  private lastL = new Float64Array(0);
  private lastC = new Float64Array(0);
  private lastVW = new Float64Array(0);
  private readonly cand: number[] = [];

  constructor(private readonly opts: ResampleKernelOptions) {
    const closed = opts.closed ?? 'left';
    this.loIncl = closed === 'left' || closed === 'both';
    this.hiIncl = closed === 'right' || closed === 'both';
    const samePeriod = opts.period === undefined || opts.period === opts.every;
    this.simple = samePeriod && (closed === 'left' || closed === 'right');
    this.batch = (opts.mode ?? 'batch') === 'batch';
    const fill = opts.fill ?? 'none';
    this.fillKind = typeof fill === 'number' ? 'const' : fill;
    this.fillValue = typeof fill === 'number' ? fill : Number.NaN;
    this.correct = opts.late === 'correct';
    this.horizon = opts.correctionHorizonUs ?? 0;
    validateGridOptions(opts);
  }

  /** The current watermark (stream mode). */
  get watermark(): number {
    return this.wm;
  }

  /** Whether the window grid exists (it is built on the first valid row). */
  get hasGrid(): boolean {
    return this.grid !== undefined;
  }

  /** Number of keys with state. */
  get keyCount(): number {
    return this.keyCap;
  }

  private ensureKeys(n: number): void {
    if (n <= this.keyCap) return;
    const cap = Math.max(n, this.keyCap * 2, 8);
    const f = (a: Float64Array, fillNaN: boolean) => {
      const b = new Float64Array(cap);
      if (fillNaN) b.fill(NONE);
      b.set(a);
      return b;
    };
    // Filled by push with NaN first, so the array holds unboxed doubles (PACKED_DOUBLE_ELEMENTS).
    const cur: number[] = [];
    for (let j = 0; j < cap * REC; j++) cur.push(NONE);
    for (let j = 0; j < this.keyCap * REC; j++) cur[j] = this.cur[j];
    for (let k = this.keyCap; k < cap; k++) {
      const b = k * REC;
      for (let f = 0; f < REC; f++) cur[b + f] = 0;
      cur[b + END] = NONE;
      cur[b + START] = NONE;
      cur[b + WIN] = NONE;
      cur[b + LAST] = Number.NEGATIVE_INFINITY;
      cur[b + LIM_BITS] = NONE;
    }
    this.cur = cur;
    const lt = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
    lt.set(this.lastT);
    this.lastT = lt;
    this.firstT = f(this.firstT, true);
    this.lastK = f(this.lastK, true);
    this.firstK = f(this.firstK, true);
    this.lastStart = f(this.lastStart, false);
    this.lastO = f(this.lastO, false);
    this.lastH = f(this.lastH, false);
    this.lastL = f(this.lastL, false);
    this.lastC = f(this.lastC, false);
    this.lastVW = f(this.lastVW, false);
    for (let i = this.keyCap; i < cap; i++) {
      this.openList.push([]);
      this.closedBars.push(new Map());
      this.filledRevs.push(new Map());
      this.anchors.push(undefined);
    }
    this.keyCap = cap;
  }

  /** The grid, built on the first data (its anchor may depend on the first time). */
  gridFor(firstUs: number): Grid {
    if (!this.grid) this.grid = makeGrid(this.opts, firstUs);
    return this.grid;
  }

  /**
   * Absorb rows [from, to) of the given columns. `keys` may be undefined (one key, code 0).
   * See {@link PushOptions} for the tag (ack tracking), grid anchor and row numbering.
   */
  push(
    ts: Float64Array,
    keys: Int32Array | undefined,
    price: Float64Array,
    size: Float64Array,
    o: PushOptions = {},
  ): void {
    const from = o.from ?? 0;
    const to = o.to ?? ts.length;
    if (to <= from) return;
    if (!this.grid) {
      let first = o.firstUs;
      if (first === undefined)
        for (let i = from; i < to; i++)
          if (!Number.isNaN(ts[i]) && !Number.isNaN(price[i])) {
            first = ts[i];
            break;
          }
      if (first === undefined) {
        this.invalidRows += to - from;
        return;
      }
      this.gridFor(first);
    }
    if (o.keyCount !== undefined) this.ensureKeys(Math.max(1, o.keyCount));
    else {
      let maxKey = 0;
      if (keys) for (let i = from; i < to; i++) if (keys[i] > maxKey) maxKey = keys[i];
      this.ensureKeys(maxKey + 1);
    }
    const tag = o.tag ?? 0;
    try {
      if (this.simple && this.batch) this.pushSimpleBatch(ts, keys, price, size, from, to, tag);
      else if (this.simple) this.pushSimple(ts, keys, price, size, from, to, tag);
      else this.pushGeneral(ts, keys, price, size, from, to, tag);
    } catch (e) {
      if (e instanceof UnsortedInputError && o.rowBase)
        throw new UnsortedInputError(e.row + o.rowBase, e.key, e.time, e.previous);
      throw e;
    }
  }

  /**
   * Batch mode, one window per row: rows of a key are sorted, so `t >= last time` (checked
   * anyway for sortedness) implies t is past the window start and only the end is compared.
   */
  private pushSimpleBatch(
    ts: Float64Array,
    keys: Int32Array | undefined,
    price: Float64Array,
    size: Float64Array,
    from: number,
    to: number,
    tag: number,
  ): void {
    const cur = this.cur;
    let i = from;
    while (i < to) {
      i = keys
        ? fastRunBatch(cur, ts, keys, price, size, i, to, this.loIncl)
        : fastRunBatchOneKey(cur, ts, price, size, i, to, this.loIncl);
      if (i >= to) break;
      const t = ts[i];
      const p = price[i];
      const key = keys ? keys[i] : 0;
      if (Number.isNaN(t) || Number.isNaN(p)) this.invalidRows++;
      else {
        const last = cur[(key << 4) + LAST];
        if (t < last) throw new UnsortedInputError(i, key, t, last);
        this.slowRow(key, t, p, size[i], tag);
      }
      i++;
    }
  }

  /**
   * Rows whose int64 µs times are given as their 32-bit words (`new Int32Array(col.buffer,
   * col.byteOffset, 2 * n)`): with one window per row, times are read in the hot loop with no
   * float64 copy of the column; otherwise they are converted block by block for {@link push}.
   */
  pushInt64Times(
    words: Int32Array,
    keys: Int32Array | undefined,
    price: Float64Array,
    size: Float64Array,
    o: PushOptions = {},
  ): void {
    const n = words.length >> 1;
    if (!this.simple) {
      const block = new Float64Array(Math.min(n, 1 << 15));
      for (let a = 0; a < n; a += block.length) {
        const b = Math.min(n, a + block.length);
        for (let i = a, j = 2 * a; i < b; i++, j += 2)
          block[i - a] = words[j + 1] * TWO_32 + (words[j] >>> 0);
        this.push(block, keys?.subarray(a, b), price.subarray(a, b), size.subarray(a, b), {
          ...o,
          to: b - a,
          rowBase: (o.rowBase ?? 0) + a,
        });
      }
      return;
    }
    if (!this.grid) {
      let f = 0;
      while (f < n && Number.isNaN(price[f])) f++;
      if (f === n) {
        this.invalidRows += n;
        return;
      }
      this.gridFor(o.firstUs ?? words[2 * f + 1] * TWO_32 + (words[2 * f] >>> 0));
    }
    if (o.keyCount !== undefined) this.ensureKeys(Math.max(1, o.keyCount));
    else {
      let maxKey = 0;
      if (keys) for (let i = 0; i < n; i++) if (keys[i] > maxKey) maxKey = keys[i];
      this.ensureKeys(maxKey + 1);
    }
    const cur = this.cur;
    const base = o.rowBase ?? 0;
    const src = (words.byteOffset & 7) === 0 ? words : words.slice();
    const bits = new Float64Array(src.buffer, src.byteOffset, n);
    // LAST_BITS mirrors LAST while the bits loop runs (it updates only LAST_BITS).
    for (let key = 0; key < this.keyCap; key++)
      if (cur[(key << 4) + LIM_BITS] > 0) cur[(key << 4) + LAST_BITS] = timeBits(cur[(key << 4) + LAST]);
    try {
      let i = 0;
      while (i < n) {
        i = keys
          ? fastRunBits(cur, bits, keys, price, size, i, n)
          : fastRunBitsOneKey(cur, bits, price, size, i, n);
        if (i >= n) break;
        const t = words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
        const p = price[i];
        const key = keys ? keys[i] : 0;
        this.syncLast(key);
        const b = key << 4;
        const last = cur[b + LAST];
        if (Number.isNaN(p)) this.invalidRows++;
        else if ((this.loIncl ? t < cur[b + END] : t <= cur[b + END]) && t >= last)
          this.addInOrder(key, t, p, size[i]); // a window the bits loop leaves alone (before 1970)
        else {
          if (this.batch && t < last) throw new UnsortedInputError(base + i, key, t, last);
          this.slowRow(key, t, p, size[i], o.tag ?? 0);
        }
        i++;
      }
    } finally {
      for (let key = 0; key < this.keyCap; key++) this.syncLast(key);
    }
  }

  /** LAST from LAST_BITS, for a key whose window the bits loop may have advanced. */
  private syncLast(key: number): void {
    const b = key << 4;
    if (this.cur[b + LIM_BITS] > 0) this.cur[b + LAST] = bitsTime(this.cur[b + LAST_BITS]);
  }

  /**
   * One window per row (period = every, closed left or right), stream mode. The fast path takes
   * in-order rows of the current window; out-of-order rows go through {@link slowRow}.
   */
  private pushSimple(
    ts: Float64Array,
    keys: Int32Array | undefined,
    price: Float64Array,
    size: Float64Array,
    from: number,
    to: number,
    tag: number,
  ): void {
    const cur = this.cur;
    let i = from;
    while (i < to) {
      i = keys
        ? fastRunBatch(cur, ts, keys, price, size, i, to, this.loIncl)
        : fastRunBatchOneKey(cur, ts, price, size, i, to, this.loIncl);
      if (i >= to) break;
      const t = ts[i];
      const p = price[i];
      if (Number.isNaN(t) || Number.isNaN(p)) this.invalidRows++;
      else this.slowRow(keys ? keys[i] : 0, t, p, size[i], tag);
      i++;
    }
  }

  /** Fast-path miss: the row opens a new window, or lands in an older one (stream). */
  private slowRow(key: number, t: number, p: number, s: number, tag: number): void {
    // With one window per row, a key's first valid row always lands here (no current window yet).
    if (Number.isNaN(this.firstT[key])) this.firstT[key] = t;
    const grid = this.grid!;
    this.candidates(grid, t);
    if (this.cand.length === 0) return;
    const k = this.cand[0];
    const cur = this.cur[(key << 4) + WIN];
    if (k === cur) {
      this.addOutOfOrder(key, t, p, s);
      return;
    }
    if ((Number.isNaN(cur) || k > cur) && (this.batch || !this.isFinal(grid.end(k)))) {
      if (!Number.isNaN(cur)) {
        if (this.batch) this.emitCurrent(key);
        else this.openList[key].push(this.currentAsAgg(key));
      }
      this.openCurrent(key, k, grid.start(k), grid.end(k), t, p, s, tag);
      return;
    }
    const r = this.addToWindow(key, k, grid, t, p, s, tag);
    if (r === LATE_DROPPED) this.lateDropped++;
    else if (r === LATE_CORRECTED) this.lateCorrected++;
  }

  /** An in-order row of the current window (what the fast loops do). */
  private addInOrder(key: number, t: number, p: number, s: number): void {
    const c = this.cur;
    const b = key << 4;
    if (p > c[b + HIGH]) c[b + HIGH] = p;
    else if (p < c[b + LOW]) c[b + LOW] = p;
    c[b + CLOSE] = p;
    c[b + LAST] = t;
    c[b + COUNT]++;
    if (!Number.isNaN(s)) {
      c[b + VOL] += s;
      c[b + PV] += p * s;
    }
  }

  /** A row of the current window older than its last row (stream mode, within the lateness). */
  private addOutOfOrder(key: number, t: number, p: number, s: number): void {
    const c = this.cur;
    const b = key << 4;
    if (p > c[b + HIGH]) c[b + HIGH] = p;
    if (p < c[b + LOW]) c[b + LOW] = p;
    if (t < c[b + FIRST]) {
      c[b + OPEN] = p;
      c[b + FIRST] = t;
    }
    c[b + COUNT]++;
    if (!Number.isNaN(s)) {
      c[b + VOL] += s;
      c[b + PV] += p * s;
    }
  }

  private openCurrent(
    key: number,
    k: number,
    start: number,
    end: number,
    t: number,
    p: number,
    s: number,
    tag: number,
  ): void {
    this.cur[(key << 4) + WIN] = k;
    this.cur[(key << 4) + START] = start;
    this.cur[(key << 4) + END] = end;
    this.cur[(key << 4) + OPEN] = p;
    this.cur[(key << 4) + HIGH] = p;
    this.cur[(key << 4) + LOW] = p;
    this.cur[(key << 4) + CLOSE] = p;
    this.cur[(key << 4) + VOL] = !Number.isNaN(s) ? s : 0;
    this.cur[(key << 4) + PV] = !Number.isNaN(s) ? p * s : 0;
    this.cur[(key << 4) + COUNT] = 1;
    this.cur[(key << 4) + FIRST] = t;
    this.cur[(key << 4) + LAST] = t;
    this.cur[(key << 4) + TAG] = tag;
    this.cur[(key << 4) + PROV_N] = 0;
    const lim = this.loIncl ? Math.ceil(end) : Math.floor(end) + 1;
    const bits = start >= 0 && lim <= Number.MAX_SAFE_INTEGER;
    this.cur[(key << 4) + LIM_BITS] = bits ? timeBits(lim) : Number.NEGATIVE_INFINITY;
    this.cur[(key << 4) + LAST_BITS] = bits ? timeBits(t) : 0;
  }

  private currentAsAgg(key: number): Agg {
    const a = new Agg(
      this.cur[(key << 4) + WIN],
      this.cur[(key << 4) + START],
      this.cur[(key << 4) + END],
      this.cur[(key << 4) + TAG],
      this.cur[(key << 4) + FIRST],
      this.cur[(key << 4) + OPEN],
      0,
    );
    a.high = this.cur[(key << 4) + HIGH];
    a.low = this.cur[(key << 4) + LOW];
    a.close = this.cur[(key << 4) + CLOSE];
    a.vol = this.cur[(key << 4) + VOL];
    a.pv = this.cur[(key << 4) + PV];
    a.n = this.cur[(key << 4) + COUNT];
    a.last = this.cur[(key << 4) + LAST];
    a.dirty = this.cur[(key << 4) + COUNT] !== this.cur[(key << 4) + PROV_N] ? 1 : 0;
    this.cur[(key << 4) + WIN] = NONE;
    this.cur[(key << 4) + START] = NONE;
    this.cur[(key << 4) + END] = NONE;
    this.cur[(key << 4) + LIM_BITS] = NONE;
    return a;
  }

  /** Windows containing t, ascending, into this.cand. */
  private candidates(grid: Grid, t: number): void {
    const cand = this.cand;
    cand.length = 0;
    const top = grid.locate(t);
    for (let k = top; ; k--) {
      const e = grid.end(k);
      if (e < t) break;
      const st = grid.start(k);
      const inLo = this.loIncl ? st <= t : st < t;
      const inHi = this.hiIncl ? t <= e : t < e;
      if (inLo && inHi) cand.push(k);
      else if (!inHi) break;
    }
    cand.reverse();
  }

  /** Whether window k can still receive rows given the watermark (stream mode). */
  private isFinal(end: number): boolean {
    return this.hiIncl ? end < this.wm : end <= this.wm;
  }

  /** General path: every window containing each row. */
  private pushGeneral(
    ts: Float64Array,
    keys: Int32Array | undefined,
    price: Float64Array,
    size: Float64Array,
    from: number,
    to: number,
    tag: number,
  ): void {
    const grid = this.grid!;
    const lastT = this.lastT;
    for (let i = from; i < to; i++) {
      const t = ts[i];
      const p = price[i];
      if (Number.isNaN(t) || Number.isNaN(p)) {
        this.invalidRows++;
        continue;
      }
      const key = keys ? keys[i] : 0;
      const s = size[i];
      if (this.batch) {
        if (t < lastT[key]) throw new UnsortedInputError(i, key, t, lastT[key]);
        if (lastT[key] === Number.NEGATIVE_INFINITY) this.firstT[key] = t;
        lastT[key] = t;
        this.closePassed(key, t);
      }
      this.candidates(grid, t);
      let late = ABSORBED;
      for (let c = 0; c < this.cand.length; c++) {
        const r = this.addToWindow(key, this.cand[c], grid, t, p, s, tag);
        if (r > late) late = r;
      }
      if (late === LATE_DROPPED) this.lateDropped++;
      else if (late === LATE_CORRECTED) this.lateCorrected++;
    }
  }

  /** Batch mode: emit the key's windows that cannot receive rows at or after t. */
  private closePassed(key: number, t: number): void {
    const list = this.openList[key];
    let n = 0;
    while (n < list.length && (this.hiIncl ? list[n].end < t : list[n].end <= t)) n++;
    if (n === 0) return;
    for (let j = 0; j < n; j++) this.emitAgg(key, list[j]);
    list.splice(0, n);
  }

  /**
   * Add a row to window k of a key (off the fast path). In stream mode a final window takes the
   * row only as a correction (`late: correct`, within the horizon); otherwise it is dropped.
   */
  private addToWindow(
    key: number,
    k: number,
    grid: Grid,
    t: number,
    p: number,
    s: number,
    tag: number,
  ): number {
    const list = this.openList[key];
    let j = list.length - 1;
    while (j >= 0 && list[j].k > k) j--;
    if (j >= 0 && list[j].k === k) {
      list[j].add(t, p, s);
      return ABSORBED;
    }
    const end = grid.end(k);
    if (!this.batch && this.isFinal(end)) {
      if (!this.correct || end <= this.wm - this.horizon) return LATE_DROPPED;
      this.correctBar(key, k, grid.start(k), end, t, p, s);
      return LATE_CORRECTED;
    }
    list.splice(j + 1, 0, new Agg(k, grid.start(k), end, tag, t, p, s));
    return ABSORBED;
  }

  /**
   * Late row into a final window: revise the kept bar and re-emit it with the next revision. A
   * window that had no bar gets one (the next revision of the filled bar emitted there, else 0).
   * With `fill`, the filled bars whose values depend on the revised bar are emitted again too.
   */
  private correctBar(
    key: number,
    k: number,
    start: number,
    end: number,
    t: number,
    p: number,
    s: number,
  ): void {
    const kept = this.closedBars[key];
    let a = kept.get(k);
    if (a) {
      a.add(t, p, s);
      a.revision++;
      this.pushBar(key, a, a.revision, 1);
      this.refillAround(key, a);
      return;
    }
    a = new Agg(k, start, end, 0, t, p, s);
    const lk = this.lastK[key];
    if (Number.isNaN(lk) || k > lk) {
      this.emitAgg(key, a);
      return;
    }
    const filled = this.filledRevs[key].get(k);
    if (filled !== undefined) {
      a.revision = filled + 1;
      this.filledRevs[key].delete(k);
    } else if (this.fillKind !== 'none' && k > this.firstK[key]) a.revision = 1;
    kept.set(k, a);
    this.pushBar(key, a, a.revision, 1);
    if (k < this.firstK[key]) this.firstK[key] = k;
    this.refillAround(key, a);
  }

  /**
   * After bar `a` of `key` was revised or created late: the filled windows between it and its
   * neighbouring real bars take their new values. `prev` fills after `a` repeat it; `linear` fills
   * on both sides interpolate it; `null` and constant fills only change where windows become
   * fillable for the first time (a new first bar). A revised last bar is also what later fills
   * repeat or interpolate from.
   */
  private refillAround(key: number, a: Agg): void {
    if (a.k === this.lastK[key]) this.rememberLast(key, a.start, a.open, a.high, a.low, a.close, a.vwap);
    const kind = this.fillKind;
    if (kind === 'none') return;
    const anchor = this.anchors[key];
    let prev = anchor !== undefined && anchor.k < a.k ? anchor : undefined;
    let next: Agg | undefined;
    for (const b of this.closedBars[key].values()) {
      if (b.k < a.k && (prev === undefined || b.k > prev.k)) prev = b;
      if (b.k > a.k && (next === undefined || b.k < next.k)) next = b;
    }
    const onlyNew = kind === 'null' || kind === 'const';
    if (next !== undefined) this.emitFilledBetween(key, a, next, onlyNew);
    if (kind === 'linear' && prev !== undefined) this.emitFilledBetween(key, prev, a, false);
  }

  /** The filled bars strictly between real bars `a` and `b` of `key` (see {@link refillAround}). */
  private emitFilledBetween(key: number, a: Agg, b: Agg, onlyNew: boolean): void {
    if (b.k <= a.k + 1) return;
    this.emitFilled(key, a.k, b.k, a.start, a.open, a.high, a.low, a.close, a.vwap, b, onlyNew);
  }

  private pushBar(key: number, a: Agg, revision: number, final: number): void {
    this.out.push(
      key,
      a.k,
      a.start,
      a.end,
      a.open,
      a.high,
      a.low,
      a.close,
      a.vol,
      a.vwap,
      a.n,
      a.first,
      a.last,
      revision,
      final,
      a.pv,
    );
  }

  /** Emit a final bar (with the filled bars before it) and remember it for fill/corrections. */
  private emitFinal(
    key: number,
    k: number,
    start: number,
    end: number,
    o: number,
    h: number,
    l: number,
    c: number,
    vol: number,
    pv: number,
    n: number,
    first: number,
    last: number,
  ): void {
    const vwap = vol > 0 ? pv / vol : Number.NaN;
    const lk = this.lastK[key];
    if (this.fillKind !== 'none' && !Number.isNaN(lk) && k > lk + 1) {
      FILL_TO.start = start;
      FILL_TO.open = o;
      FILL_TO.high = h;
      FILL_TO.low = l;
      FILL_TO.close = c;
      FILL_TO.vwap = vwap;
      this.emitFilled(
        key,
        lk,
        k,
        this.lastStart[key],
        this.lastO[key],
        this.lastH[key],
        this.lastL[key],
        this.lastC[key],
        this.lastVW[key],
        FILL_TO,
        false,
      );
    }
    this.out.push(key, k, start, end, o, h, l, c, vol, vwap, n, first, last, 0, 1, pv);
    if (Number.isNaN(lk)) this.firstK[key] = k;
    this.lastK[key] = k;
    this.rememberLast(key, start, o, h, l, c, vwap);
  }

  /** The last real bar's values of `key`, which later filled bars repeat or interpolate from. */
  private rememberLast(key: number, start: number, o: number, h: number, l: number, c: number, vwap: number) {
    this.lastStart[key] = start;
    this.lastO[key] = o;
    this.lastH[key] = h;
    this.lastL[key] = l;
    this.lastC[key] = c;
    this.lastVW[key] = vwap;
  }

  /**
   * Emit the filled bars of windows `fromK + 1 .. toK - 1` of `key`, after a real bar starting at
   * `s0` with aggregates `o0`..`vw0` and before `to` (what `linear` interpolates towards). With
   * `late: correct` each window's revision is tracked: one emitted before gets its revision + 1,
   * or is skipped with `onlyNew`.
   */
  private emitFilled(
    key: number,
    fromK: number,
    toK: number,
    s0: number,
    o0: number,
    h0: number,
    l0: number,
    c0: number,
    vw0: number,
    to: FillEnd,
    onlyNew: boolean,
  ): void {
    const grid = this.grid!;
    const kind = this.fillKind;
    const revs = this.correct ? this.filledRevs[key] : undefined;
    for (let j = fromK + 1; j < toK; j++) {
      const before = revs?.get(j);
      if (onlyNew && before !== undefined) continue;
      const revision = before === undefined ? 0 : before + 1;
      revs?.set(j, revision);
      const st = grid.start(j);
      let fo: number;
      let fh: number;
      let fl: number;
      let fc: number;
      let fv: number;
      if (kind === 'null') {
        fo = fh = fl = fc = fv = Number.NaN;
      } else if (kind === 'const') {
        fo = fh = fl = fc = fv = this.fillValue;
      } else if (kind === 'prev') {
        fo = o0;
        fh = h0;
        fl = l0;
        fc = c0;
        fv = vw0;
      } else {
        const w = (st - s0) / (to.start - s0);
        fo = o0 + (to.open - o0) * w;
        fh = h0 + (to.high - h0) * w;
        fl = l0 + (to.low - l0) * w;
        fc = c0 + (to.close - c0) * w;
        fv = vw0 + (to.vwap - vw0) * w;
      }
      this.out.push(
        key,
        j,
        st,
        grid.end(j),
        fo,
        fh,
        fl,
        fc,
        0,
        fv,
        0,
        Number.NaN,
        Number.NaN,
        revision,
        1,
        0,
      );
    }
  }

  private emitCurrent(key: number): void {
    this.emitFinal(
      key,
      this.cur[(key << 4) + WIN],
      this.cur[(key << 4) + START],
      this.cur[(key << 4) + END],
      this.cur[(key << 4) + OPEN],
      this.cur[(key << 4) + HIGH],
      this.cur[(key << 4) + LOW],
      this.cur[(key << 4) + CLOSE],
      this.cur[(key << 4) + VOL],
      this.cur[(key << 4) + PV],
      this.cur[(key << 4) + COUNT],
      this.cur[(key << 4) + FIRST],
      this.cur[(key << 4) + LAST],
    );
    if (this.correct) {
      const a = this.currentAsAgg(key);
      this.closedBars[key].set(a.k, a);
    }
    this.cur[(key << 4) + WIN] = NONE;
    this.cur[(key << 4) + START] = NONE;
    this.cur[(key << 4) + END] = NONE;
    this.cur[(key << 4) + LIM_BITS] = NONE;
  }

  private emitAgg(key: number, a: Agg): void {
    this.emitFinal(
      key,
      a.k,
      a.start,
      a.end,
      a.open,
      a.high,
      a.low,
      a.close,
      a.vol,
      a.pv,
      a.n,
      a.first,
      a.last,
    );
    if (this.correct) this.closedBars[key].set(a.k, a);
  }

  /**
   * Stream mode: set the watermark and emit every window that is now final (end at or before the
   * watermark; strictly before when the window's end is closed), per key in window order.
   */
  advance(watermark: number): void {
    if (watermark <= this.wm) return;
    this.wm = watermark;
    for (let key = 0; key < this.keyCap; key++) {
      const list = this.openList[key];
      let n = 0;
      while (n < list.length && this.isFinal(list[n].end)) n++;
      if (n > 0) {
        for (let j = 0; j < n; j++) this.emitAgg(key, list[j]);
        list.splice(0, n);
      }
      const ce = this.cur[(key << 4) + END];
      if (!Number.isNaN(ce) && this.isFinal(ce)) this.emitCurrent(key);
      if (this.correct && this.closedBars[key].size > 0) {
        const limit = this.wm - this.horizon;
        for (const [k, a] of this.closedBars[key])
          if (a.end <= limit) {
            this.closedBars[key].delete(k);
            const anchor = this.anchors[key];
            if (anchor === undefined || a.k > anchor.k) this.anchors[key] = a;
          }
        const revs = this.filledRevs[key];
        if (revs.size > 0) {
          const grid = this.grid!;
          for (const k of revs.keys()) if (grid.end(k) <= limit) revs.delete(k);
        }
      }
    }
  }

  /** Emit every open window (end of input). */
  flush(): void {
    for (let key = 0; key < this.keyCap; key++) {
      const list = this.openList[key];
      const ce = this.cur[(key << 4) + END];
      for (const a of list) this.emitAgg(key, a);
      list.length = 0;
      if (!Number.isNaN(ce)) this.emitCurrent(key);
    }
  }

  /** Emit open windows that changed since the last call, as provisional bars (final = 0). */
  provisional(): void {
    for (let key = 0; key < this.keyCap; key++) {
      for (const a of this.openList[key])
        if (a.dirty) {
          this.pushBar(key, a, 0, 0);
          a.dirty = 0;
        }
      const ck = this.cur[(key << 4) + WIN];
      if (!Number.isNaN(ck) && this.cur[(key << 4) + COUNT] !== this.cur[(key << 4) + PROV_N]) {
        const vol = this.cur[(key << 4) + VOL];
        this.out.push(
          key,
          ck,
          this.cur[(key << 4) + START],
          this.cur[(key << 4) + END],
          this.cur[(key << 4) + OPEN],
          this.cur[(key << 4) + HIGH],
          this.cur[(key << 4) + LOW],
          this.cur[(key << 4) + CLOSE],
          vol,
          vol > 0 ? this.cur[(key << 4) + PV] / vol : Number.NaN,
          this.cur[(key << 4) + COUNT],
          this.cur[(key << 4) + FIRST],
          this.cur[(key << 4) + LAST],
          0,
          0,
          this.cur[(key << 4) + PV],
        );
        this.cur[(key << 4) + PROV_N] = this.cur[(key << 4) + COUNT];
      }
    }
  }

  /**
   * The latest valid event time absorbed so far, when the engine tracks it for free (one window
   * per row: each key's last in-order time); undefined otherwise.
   */
  maxTime(): number | undefined {
    if (!this.simple) return undefined;
    let m = Number.NEGATIVE_INFINITY;
    for (let key = 0; key < this.keyCap; key++) {
      const t = this.cur[(key << 4) + LAST];
      if (t > m) m = t;
    }
    return m;
  }

  /**
   * Batch mode: each key's first and last valid time (rows with a price) absorbed so far, indexed
   * by key code (NaN for a key without rows). The parallel batch operator checks with them that
   * time stays sorted per key across the row ranges its workers absorbed separately.
   */
  keyTimeRanges(): { first: Float64Array; last: Float64Array } {
    const first = new Float64Array(this.keyCap);
    const last = new Float64Array(this.keyCap);
    for (let key = 0; key < this.keyCap; key++) {
      first[key] = this.firstT[key];
      last[key] = Number.isNaN(first[key])
        ? Number.NaN
        : this.simple
          ? this.cur[(key << 4) + LAST]
          : this.lastT[key];
    }
    return { first, last };
  }

  /** The smallest tag among open windows (Infinity when nothing is open). */
  minOpenTag(): number {
    let m = Number.POSITIVE_INFINITY;
    for (let key = 0; key < this.keyCap; key++) {
      if (!Number.isNaN(this.cur[(key << 4) + WIN]) && this.cur[(key << 4) + TAG] < m)
        m = this.cur[(key << 4) + TAG];
      const list = this.openList[key];
      for (let j = 0; j < list.length; j++) if (list[j].tag < m) m = list[j].tag;
    }
    return m;
  }

  /** Whether any window is open. */
  hasOpen(): boolean {
    return this.minOpenTag() !== Number.POSITIVE_INFINITY;
  }
}

/*
 * Hot loops, kept small and free of calls and throws so they compile tight. Each absorbs rows into
 * the key's current window while it can and returns the index of the first row it cannot handle
 * (new window, null time/price, out of order), or `to`.
 */

/**
 * In-order rows of the current window: `t >= last time` implies t is past the window start, so
 * only the window end and the last time are compared.
 */
function fastRunBatch(
  cur: number[],
  ts: Float64Array,
  keys: Int32Array,
  price: Float64Array,
  size: Float64Array,
  from: number,
  to: number,
  loIncl: boolean,
): number {
  for (let i = from; i < to; i++) {
    const t = ts[i];
    const p = price[i];
    const b = keys[i] << 4;
    const ce = cur[b + END];
    if (!((loIncl ? t < ce : t <= ce) && t >= cur[b + LAST]) || Number.isNaN(p)) return i;
    if (p > cur[b + HIGH]) cur[b + HIGH] = p;
    else if (p < cur[b + LOW]) cur[b + LOW] = p;
    cur[b + CLOSE] = p;
    cur[b + LAST] = t;
    cur[b + COUNT]++;
    const s = size[i];
    if (!Number.isNaN(s)) {
      cur[b + VOL] += s;
      cur[b + PV] += p * s;
    }
  }
  return to;
}

/**
 * {@link fastRunBatch} over int64 µs times read as float64 bits (see {@link timeBits}), against
 * the window's LIM_BITS and LAST_BITS.
 */
function fastRunBits(
  cur: number[],
  bits: Float64Array,
  keys: Int32Array,
  price: Float64Array,
  size: Float64Array,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const t = bits[i];
    const p = price[i];
    const b = keys[i] << 4;
    if (!(t < cur[b + LIM_BITS] && t >= cur[b + LAST_BITS]) || Number.isNaN(p)) return i;
    if (p > cur[b + HIGH]) cur[b + HIGH] = p;
    else if (p < cur[b + LOW]) cur[b + LOW] = p;
    cur[b + CLOSE] = p;
    cur[b + LAST_BITS] = t;
    cur[b + COUNT]++;
    const s = size[i];
    if (!Number.isNaN(s)) {
      cur[b + VOL] += s;
      cur[b + PV] += p * s;
    }
  }
  return to;
}

/** {@link fastRunBits} without a key column. */
function fastRunBitsOneKey(
  cur: number[],
  bits: Float64Array,
  price: Float64Array,
  size: Float64Array,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const t = bits[i];
    const p = price[i];
    if (!(t < cur[LIM_BITS] && t >= cur[LAST_BITS]) || Number.isNaN(p)) return i;
    if (p > cur[HIGH]) cur[HIGH] = p;
    else if (p < cur[LOW]) cur[LOW] = p;
    cur[CLOSE] = p;
    cur[LAST_BITS] = t;
    cur[COUNT]++;
    const s = size[i];
    if (!Number.isNaN(s)) {
      cur[VOL] += s;
      cur[PV] += p * s;
    }
  }
  return to;
}

/** {@link fastRunBatch} without a key column. */
function fastRunBatchOneKey(
  cur: number[],
  ts: Float64Array,
  price: Float64Array,
  size: Float64Array,
  from: number,
  to: number,
  loIncl: boolean,
): number {
  for (let i = from; i < to; i++) {
    const t = ts[i];
    const p = price[i];
    const ce = cur[END];
    if (!((loIncl ? t < ce : t <= ce) && t >= cur[LAST]) || Number.isNaN(p)) return i;
    if (p > cur[HIGH]) cur[HIGH] = p;
    else if (p < cur[LOW]) cur[LOW] = p;
    cur[CLOSE] = p;
    cur[LAST] = t;
    cur[COUNT]++;
    const s = size[i];
    if (!Number.isNaN(s)) {
      cur[VOL] += s;
      cur[PV] += p * s;
    }
  }
  return to;
}

/** Result of {@link resampleKernel}: bars sorted by key, then window. */
export interface BarsResult {
  bars: BarBuffer;
  /** Row order of the bars: by key then time (`key_time`) or by time then key (`time_key`). */
  order: Int32Array;
  invalidRows: number;
}

/**
 * Batch resampling over whole columns (sorted by time within each key). Bars come out in the
 * requested order: `key_time` (Polars: by key code, then window) or `time_key`.
 */
export function resampleKernel(
  ts: Float64Array,
  keys: Int32Array | undefined,
  price: Float64Array,
  size: Float64Array,
  opts: ResampleKernelOptions,
  order: 'key_time' | 'time_key' = 'key_time',
): BarsResult {
  const engine = new ResampleEngine({ ...opts, mode: 'batch' });
  let first = Number.POSITIVE_INFINITY;
  if (opts.align === 'first_observation' || opts.timeZone) {
    for (let i = 0; i < ts.length; i++) if (ts[i] < first && !Number.isNaN(price[i])) first = ts[i];
  }
  engine.push(ts, keys, price, size, { firstUs: Number.isFinite(first) ? first : undefined });
  engine.flush();
  const bars = engine.out;
  return { bars, order: orderBars(bars, order), invalidRows: engine.invalidRows };
}

/**
 * A permutation of the bars: by key then window (`key_time`, stable counting sort: bars of a key
 * are emitted in window order) or by window start then key (`time_key`).
 */
export function orderBars(bars: BarBuffer, order: 'key_time' | 'time_key'): Int32Array {
  const n = bars.length;
  const idx = new Int32Array(n);
  if (order === 'time_key') {
    for (let i = 0; i < n; i++) idx[i] = i;
    const { start, key, k } = bars;
    idx.sort((a, b) => start[a] - start[b] || key[a] - key[b] || k[a] - k[b] || a - b);
    return idx;
  }
  let maxKey = -1;
  for (let i = 0; i < n; i++) if (bars.key[i] > maxKey) maxKey = bars.key[i];
  const counts = new Int32Array(maxKey + 2);
  for (let i = 0; i < n; i++) counts[bars.key[i] + 1]++;
  for (let c = 1; c < counts.length; c++) counts[c] += counts[c - 1];
  for (let i = 0; i < n; i++) idx[counts[bars.key[i]]++] = i;
  return idx;
}
