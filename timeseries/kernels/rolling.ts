/**
 * Rolling-window kernel: one output row per input row, windows per key, by row count or by time.
 *
 * Pure typed-array code (no Arrow, no RxJS). The state is incremental and survives calls, so a
 * stream cut into any batches gives bit-for-bit the output of one call over the whole input: every
 * row goes through the same state transitions in the same order, wherever the cuts are.
 *
 * Windows (row i of key k at time t, causal: only rows of k up to and including i are candidates):
 * - `rows`: the last `rows` rows of the key (rows whose value is missing still take a slot).
 * - `time` with `closed`: `right` (t − period, t], `left` [t − period, t), `both` [t − period, t],
 *   `none` (t − period, t). With `left`/`none` every row at time t is outside the window.
 *
 * Aggregates skip missing values (NaN; the Arrow glue maps nulls to NaN) and `min_periods` counts
 * the non-missing values in the window (rows for a plain row `count`). Sums are compensated (TwoSum, as Neumaier)
 * on add and on evict; the variance is computed from compensated sums shifted by a per-key pivot
 * (the window's first value), and every window is recomputed from its stored values after a number
 * of evictions proportional to its size, which bounds drift and re-centres the pivot at amortised
 * O(1) cost. min/max use a monotonic deque per key (amortised O(1)). `ewm_mean` is time-aware and
 * spans the key's whole history: alpha = 1 − exp(−ln2 · Δt / half_life) with Δt the time since the
 * key's previous non-missing value (Polars `ewm_mean_by`); it ignores the window. `ewm_var` and
 * `ewm_std` share its state and alpha and add the incremental biased variance (Polars `ewm_var`
 * with adjust=False, bias=True): d = x − m, m += alpha · d, v = (1 − alpha) · (v + alpha · d²).
 *
 * The row loop is specialised once per configuration: the plan (which sums, deques and windows are
 * needed) is turned into straight-line JavaScript with `new Function`. Only numeric constants and
 * fixed identifiers go into the generated source, never user text. Specialising is what makes the
 * kernel about 3x faster than an interpreted plan (one megamorphic dispatch per row and track).
 *
 * Parts: {@link RollingKernel.processPart} runs only the rows of the keys given to one part and
 * skips the others. A key's state depends on its own rows only, so parts that share out the keys
 * give, together, the output of one pass row for row (the batch operator runs them on several
 * threads; timeseries/parallel/rolling-task.ts).
 */

/** The aggregates the kernel computes (the operator's `agg` values). */
export const ROLLING_AGG_KINDS = [
  'sum',
  'mean',
  'min',
  'max',
  'std',
  'var',
  'count',
  'vwap',
  'ewm_mean',
  'ewm_var',
  'ewm_std',
] as const;
export type RollingAggKind = (typeof ROLLING_AGG_KINDS)[number];

/** The exponentially weighted aggregates: time-aware, over the key's whole history (need a half-life). */
export function isEwmAgg(agg: string): agg is 'ewm_mean' | 'ewm_var' | 'ewm_std' {
  return agg === 'ewm_mean' || agg === 'ewm_var' || agg === 'ewm_std';
}

export type Closed = 'left' | 'right' | 'both' | 'none';

export type RollingWindow =
  | { kind: 'time'; periodUs: number; closed: Closed }
  | { kind: 'rows'; rows: number };

export interface KernelAgg {
  agg: RollingAggKind;
  /** Index of the value column; -1 for a `count` of rows. For `vwap`: the price column. */
  input: number;
  /** For `vwap`: index of the size column. */
  size?: number;
  /** Minimum number of non-missing values in the window for a non-null result (>= 0). */
  minPeriods: number;
}

export interface RollingKernelOptions {
  window: RollingWindow;
  /** Number of value columns passed to {@link RollingKernel.process}. */
  inputs: number;
  aggs: readonly KernelAgg[];
  /** Half-life in µs for `ewm_mean`, `ewm_var` and `ewm_std`. */
  halfLifeUs?: number;
  /**
   * A row earlier than its key's previous row (or with a NaN time): `error` (default) stops and
   * reports it; `skip` gives it null aggregates, leaves the window as it was, and counts it.
   */
  unsorted?: 'error' | 'skip';
}

/** A window is recomputed after this many evictions plus a multiple of its size (amortised O(1)). */
const RECOMPUTE_BASE = 1024;
const RECOMPUTE_FACTOR = 4;
const INITIAL_CAPACITY = 16;

/** Compensated `a[o] += x` with the running error in `a[o + 1]` (branch-free TwoSum). */
function kadd(a: Float64Array, o: number, x: number): void {
  const s = a[o];
  const t = s + x;
  const bp = t - s;
  a[o + 1] += s - (t - bp) + (x - bp);
  a[o] = t;
}

/** Accumulators of a value column: count, sum, and the pivot-shifted sums for the variance. */
interface ColTrack {
  input: number;
  slot: number;
  acc: number;
  sum: boolean;
  variance: boolean;
  /** Sum and mean read from the pivot-shifted sums (when the variance is tracked anyway). */
  pivotSum: boolean;
  minDq: number;
  maxDq: number;
}

/** Offsets inside a column track: n, sum(+err), s1(+err), s2(+err), pivot. */
const N = 0;
const SUM = 1;
const S1 = 3;
const S2 = 5;
const K = 7;
const COL_STRIDE = 8;
/** Offsets inside a vwap track: n, sum(p·s)(+err), sum(s)(+err). */
const PS = 1;
const SZ = 3;
const VWAP_STRIDE = 5;
/** Offsets inside an ewm track: mean, time of the last value, values seen; variance if tracked. */
const EWM_LAST = 1;
const EWM_SEEN = 2;
const EWM_STRIDE = 3;
const EWM_VAR = 3;

interface Plan {
  slots: number;
  slotOf: Int32Array;
  cols: ColTrack[];
  vwaps: { priceSlot: number; sizeSlot: number; acc: number }[];
  /** `variance`: ewm_var or ewm_std reads the track (ewm_mean alone does not update it). */
  ewms: { input: number; acc: number; variance: boolean }[];
  deques: { slot: number; max: boolean }[];
  accSize: number;
}

function plan(opts: RollingKernelOptions): { plan: Plan; aggTrack: number[] } {
  const slotOf = new Int32Array(opts.inputs).fill(-1);
  let slots = 0;
  const slot = (input: number): number => {
    if (!(input >= 0 && input < opts.inputs)) throw new RangeError(`rolling input ${input} out of range`);
    if (slotOf[input] < 0) slotOf[input] = slots++;
    return slotOf[input];
  };
  const cols: ColTrack[] = [];
  const vwaps: Plan['vwaps'] = [];
  const ewms: Plan['ewms'] = [];
  const deques: Plan['deques'] = [];
  const aggTrack: number[] = [];
  for (const g of opts.aggs) {
    if (!(g.minPeriods >= 0)) throw new RangeError('min_periods must be >= 0');
    if (isEwmAgg(g.agg)) {
      if (!(opts.halfLifeUs !== undefined && opts.halfLifeUs > 0))
        throw new RangeError(`${g.agg} needs a positive half_life`);
      let e = ewms.findIndex((x) => x.input === g.input);
      if (e < 0) {
        if (!(g.input >= 0 && g.input < opts.inputs))
          throw new RangeError(`rolling input ${g.input} out of range`);
        e = ewms.push({ input: g.input, acc: 0, variance: false }) - 1;
      }
      if (g.agg !== 'ewm_mean') ewms[e].variance = true;
      aggTrack.push(e);
    } else if (g.agg === 'vwap') {
      if (g.size === undefined) throw new RangeError('vwap needs a size column');
      const priceSlot = slot(g.input);
      const sizeSlot = slot(g.size);
      let v = vwaps.findIndex((x) => x.priceSlot === priceSlot && x.sizeSlot === sizeSlot);
      if (v < 0) v = vwaps.push({ priceSlot, sizeSlot, acc: 0 }) - 1;
      aggTrack.push(v);
    } else if (g.input < 0) {
      if (g.agg !== 'count') throw new RangeError(`${g.agg} needs a column`);
      aggTrack.push(-1);
    } else {
      let c = cols.findIndex((x) => x.input === g.input);
      if (c < 0) {
        const sl = slot(g.input);
        c =
          cols.push({
            input: g.input,
            slot: sl,
            acc: 0,
            sum: false,
            variance: false,
            pivotSum: false,
            minDq: -1,
            maxDq: -1,
          }) - 1;
      }
      const t = cols[c];
      if (g.agg === 'sum' || g.agg === 'mean') t.sum = true;
      else if (g.agg === 'std' || g.agg === 'var') t.variance = true;
      else if (g.agg === 'min' && t.minDq < 0) t.minDq = deques.push({ slot: t.slot, max: false }) - 1;
      else if (g.agg === 'max' && t.maxDq < 0) t.maxDq = deques.push({ slot: t.slot, max: true }) - 1;
      aggTrack.push(c);
    }
  }
  let acc = 0;
  for (const t of cols) {
    if (t.sum && t.variance) {
      // n·pivot + Σ(x − pivot) is the sum: one compensated sum fewer per add and evict.
      t.sum = false;
      t.pivotSum = true;
    }
    t.acc = acc;
    acc += COL_STRIDE;
  }
  for (const v of vwaps) {
    v.acc = acc;
    acc += VWAP_STRIDE;
  }
  for (const e of ewms) {
    e.acc = acc;
    acc += e.variance ? EWM_STRIDE + 1 : EWM_STRIDE;
  }
  return { plan: { slots, slotOf, cols, vwaps, ewms, deques, accSize: acc }, aggTrack };
}

/** Source of `newState()`: one object shape per configuration. */
function genNewState(p: Plan): string {
  const f: string[] = [
    `mask: ${INITIAL_CAPACITY - 1}`,
    'head: 0',
    'mid: 0',
    'tail: 0',
    'lastTs: -Infinity',
    'evicted: 0',
    `ts: new Float64Array(${INITIAL_CAPACITY})`,
    `acc: new Float64Array(${p.accSize})`,
  ];
  for (let s = 0; s < p.slots; s++) f.push(`v${s}: new Float64Array(${INITIAL_CAPACITY})`);
  for (let d = 0; d < p.deques.length; d++)
    f.push(`dq${d}: new Float64Array(${INITIAL_CAPACITY})`, `dqH${d}: 0`, `dqT${d}: 0`);
  return `function newState() { return { ${f.join(', ')} }; }`;
}

/** Source of `grow(s)`: double the ring and the deques, keeping each sequence at `seq & mask`. */
function genGrow(p: Plan): string {
  const lines = [
    'function grow(s) {',
    '  const om = s.mask; const cap = (om + 1) * 2; const m = cap - 1;',
    '  const move = (src, from, to) => { const dst = new Float64Array(cap); for (let q = from; q < to; q++) dst[q & m] = src[q & om]; return dst; };',
    '  s.ts = move(s.ts, s.head, s.tail);',
  ];
  for (let s = 0; s < p.slots; s++) lines.push(`  s.v${s} = move(s.v${s}, s.head, s.tail);`);
  for (let d = 0; d < p.deques.length; d++) lines.push(`  s.dq${d} = move(s.dq${d}, s.dqH${d}, s.dqT${d});`);
  lines.push('  s.mask = m;', '}');
  return lines.join('\n');
}

function resetCol(o: number): string {
  return `a[${o + SUM}] = 0; a[${o + SUM + 1}] = 0; a[${o + S1}] = 0; a[${o + S1 + 1}] = 0; a[${o + S2}] = 0; a[${o + S2 + 1}] = 0;`;
}

/**
 * The row loop keeps the key's accumulators in locals: slot `o` of `s.acc` is `A{o}` (loaded after
 * the state lookup, stored back once per row), the ring arrays are `TS`, `V{slot}`, and the ring
 * positions are `head`, `mid`, `tail`. Same operations in the same order as `kadd` on the array.
 */
const acc = (o: number): string => `A${o}`;

/** Source of `kadd(a, o, x)` on the locals `A{o}`, `A{o + 1}` (bit-for-bit the same operations). */
function kaddL(o: number, x: string): string {
  return `{ const x_ = ${x}; const s_ = ${acc(o)}; const t_ = s_ + x_; const bp = t_ - s_; ${acc(o + 1)} += s_ - (t_ - bp) + (x_ - bp); ${acc(o)} = t_; }`;
}

/** Source zeroing the sums of a column track (the plain sum only where it is tracked). */
function resetColL(t: ColTrack): string {
  const o = t.acc;
  const slots = t.sum ? [SUM, SUM + 1, S1, S1 + 1, S2, S2 + 1] : [S1, S1 + 1, S2, S2 + 1];
  return slots.map((d) => `${acc(o + d)} = 0;`).join(' ');
}

/**
 * Source that aggregates the stored row with sequence `q` (in scope: s, m, TS, V{slot}, A{o}); the
 * row just stored (`q` itself) is read as `x{slot}` (the values the loop has just read).
 */
function genAdd(p: Plan, q: string): string {
  const out: string[] = [];
  const val = (slot: number) => (q === 'q' ? `x${slot}` : `V${slot}[${q} & m]`);
  for (const t of p.cols) {
    const o = t.acc;
    const b: string[] = [
      `{ const x = ${val(t.slot)}; if (x === x) {`,
      `const nn = ${acc(o + N)} + 1; ${acc(o + N)} = nn;`,
    ];
    if (t.sum) b.push(kaddL(o + SUM, 'x'));
    if (t.variance)
      b.push(
        `if (nn === 1) { ${acc(o + K)} = x; ${acc(o + S1)} = 0; ${acc(o + S1 + 1)} = 0; ${acc(o + S2)} = 0; ${acc(o + S2 + 1)} = 0; }`,
        `else { const d = x - ${acc(o + K)}; ${kaddL(o + S1, 'd')} ${kaddL(o + S2, 'd * d')} }`,
      );
    for (const d of [t.minDq, t.maxDq]) {
      if (d < 0) continue;
      const cmp = p.deques[d].max ? '<=' : '>=';
      b.push(
        `{ const dq = s.dq${d}; const vv = V${t.slot}; const h = s.dqH${d}; let e = s.dqT${d};`,
        `while (e > h && vv[dq[(e - 1) & m] & m] ${cmp} x) e--; dq[e & m] = ${q}; s.dqT${d} = e + 1; }`,
      );
    }
    b.push('} }');
    out.push(b.join(' '));
  }
  for (const v of p.vwaps) {
    const o = v.acc;
    out.push(
      `{ const pr = ${val(v.priceSlot)}; const sz = ${val(v.sizeSlot)};`,
      `if (pr === pr && sz === sz) { ${acc(o + N)} += 1; ${kaddL(o + PS, 'pr * sz')} ${kaddL(o + SZ, 'sz')} } }`,
    );
  }
  return out.join('\n');
}

/** Source that removes the oldest aggregated row, sequence `q`. */
function genEvict(p: Plan, q: string): string {
  const out: string[] = ['evicted++;'];
  for (const t of p.cols) {
    const o = t.acc;
    const b: string[] = [
      `{ const x = V${t.slot}[${q} & m]; if (x === x) {`,
      `const nn = ${acc(o + N)} - 1; ${acc(o + N)} = nn;`,
    ];
    const upd: string[] = [];
    if (t.sum) upd.push(kaddL(o + SUM, '-x'));
    if (t.variance)
      upd.push(`const d = x - ${acc(o + K)}; ${kaddL(o + S1, '-d')} ${kaddL(o + S2, '-d * d')}`);
    if (upd.length > 0) b.push(`if (nn === 0) { ${resetColL(t)} } else { ${upd.join(' ')} }`);
    for (const d of [t.minDq, t.maxDq]) {
      if (d < 0) continue;
      b.push(`if (s.dqH${d} < s.dqT${d} && s.dq${d}[s.dqH${d} & m] === ${q}) s.dqH${d}++;`);
    }
    b.push('} }');
    out.push(b.join(' '));
  }
  for (const v of p.vwaps) {
    const o = v.acc;
    out.push(
      `{ const pr = V${v.priceSlot}[${q} & m]; const sz = V${v.sizeSlot}[${q} & m];`,
      `if (pr === pr && sz === sz) { const nn = ${acc(o + N)} - 1; ${acc(o + N)} = nn;`,
      `if (nn === 0) { ${acc(o + PS)} = 0; ${acc(o + PS + 1)} = 0; ${acc(o + SZ)} = 0; ${acc(o + SZ + 1)} = 0; }`,
      `else { ${kaddL(o + PS, '-pr * sz')} ${kaddL(o + SZ, '-sz')} } } }`,
    );
  }
  return out.join('\n');
}

/** Source of `recompute(s)`: rebuild the sums of the aggregated rows [head, mid) exactly. */
function genRecompute(p: Plan): string {
  const lines = ['function recompute(s) {', 's.evicted = 0; const m = s.mask; const a = s.acc;'];
  for (const t of p.cols) {
    if (!t.sum && !t.variance) continue;
    const o = t.acc;
    lines.push(`{ ${resetCol(o)} let first = true; const vv = s.v${t.slot};`);
    lines.push('for (let q = s.head; q < s.mid; q++) { const x = vv[q & m]; if (x !== x) continue;');
    if (t.sum) lines.push(`kadd(a, ${o + SUM}, x);`);
    if (t.variance)
      lines.push(
        `if (first) a[${o + K}] = x; else { const d = x - a[${o + K}]; kadd(a, ${o + S1}, d); kadd(a, ${o + S2}, d * d); }`,
      );
    lines.push('first = false; } }');
  }
  for (const v of p.vwaps) {
    const o = v.acc;
    lines.push(
      `{ a[${o + PS}] = 0; a[${o + PS + 1}] = 0; a[${o + SZ}] = 0; a[${o + SZ + 1}] = 0;`,
      `for (let q = s.head; q < s.mid; q++) { const pr = s.v${v.priceSlot}[q & m]; const sz = s.v${v.sizeSlot}[q & m];`,
      `if (pr === pr && sz === sz) { kadd(a, ${o + PS}, pr * sz); kadd(a, ${o + SZ}, sz); } } }`,
    );
  }
  lines.push('}');
  return lines.join('\n');
}

/** Source computing aggregate `g` of the window into the local `r_`. */
function genOutput(p: Plan, g: KernelAgg, track: number): string {
  const dst = 'r_';
  const atLeast = (min: number) => Math.max(g.minPeriods, min);
  if (isEwmAgg(g.agg)) {
    const o = p.ewms[track].acc;
    const value =
      g.agg === 'ewm_mean'
        ? acc(o)
        : g.agg === 'ewm_var'
          ? acc(o + EWM_VAR)
          : `Math.sqrt(${acc(o + EWM_VAR)})`;
    return `${dst} = ${acc(o + EWM_SEEN)} >= ${atLeast(1)} ? ${value} : NaN;`;
  }
  if (g.agg === 'vwap') {
    const o = p.vwaps[track].acc;
    return `{ const den = ${acc(o + SZ)} + ${acc(o + SZ + 1)}; ${dst} = ${acc(o + N)} >= ${atLeast(1)} && den !== 0 ? (${acc(o + PS)} + ${acc(o + PS + 1)}) / den : NaN; }`;
  }
  if (track < 0) return `{ const r = mid - head; ${dst} = r >= ${g.minPeriods} ? r : NaN; }`;
  const t = p.cols[track];
  const o = t.acc;
  const cnt = acc(o + N);
  switch (g.agg) {
    case 'count':
      return `${dst} = ${cnt} >= ${g.minPeriods} ? ${cnt} : NaN;`;
    case 'sum':
      if (t.pivotSum)
        return `${dst} = ${cnt} >= ${atLeast(1)} ? ${acc(o + K)} * ${cnt} + (${acc(o + S1)} + ${acc(o + S1 + 1)}) : NaN;`;
      return `${dst} = ${cnt} >= ${atLeast(1)} ? ${acc(o + SUM)} + ${acc(o + SUM + 1)} : NaN;`;
    case 'mean':
      if (t.pivotSum)
        return `${dst} = ${cnt} >= ${atLeast(1)} ? ${acc(o + K)} + (${acc(o + S1)} + ${acc(o + S1 + 1)}) / ${cnt} : NaN;`;
      return `${dst} = ${cnt} >= ${atLeast(1)} ? (${acc(o + SUM)} + ${acc(o + SUM + 1)}) / ${cnt} : NaN;`;
    case 'min':
    case 'max': {
      const d = g.agg === 'min' ? t.minDq : t.maxDq;
      return `${dst} = ${cnt} >= ${atLeast(1)} ? V${t.slot}[s.dq${d}[s.dqH${d} & m] & m] : NaN;`;
    }
    default: {
      const root = g.agg === 'std' ? 'Math.sqrt' : '';
      return (
        `if (${cnt} >= ${atLeast(2)}) { const c = ${cnt}; const s1 = ${acc(o + S1)} + ${acc(o + S1 + 1)};` +
        ` let v = (${acc(o + S2)} + ${acc(o + S2 + 1)} - (s1 * s1) / c) / (c - 1); if (v < 0) v = 0; ${dst} = ${root}(v); }` +
        ` else ${dst} = NaN;`
      );
    }
  }
}

type ProcessFn = (
  ts: Float64Array | Int32Array,
  keys: Int32Array | null,
  cols: readonly Float64Array[],
  out: readonly Float64Array[],
  nulls: Float64Array | undefined,
) => number;

/** The row loop of one part: rows whose key is not in `part` are skipped (see {@link KeyParts}). */
type PartFn = (
  ts: Float64Array | Int32Array,
  keys: Int32Array,
  cols: readonly Float64Array[],
  out: readonly Float64Array[],
  nulls: Float64Array | undefined,
  partOf: Int32Array,
  part: number,
  parts: number,
) => number;

/**
 * Which part each key belongs to: key k is in part `partOf[k]`, or `k % parts` when k is past the
 * end of `partOf` (keys the caller did not plan for).
 */
export interface KeyParts {
  partOf: Int32Array;
  parts: number;
}

/**
 * The row loop. `int64`: `ts` is the Int32 word view of int64 µs (Arrow's own buffer), read as
 * hi · 2^32 + lo without a conversion pass; otherwise a Float64Array of µs. `part`: the loop of
 * one part ({@link PartFn}), which reads a row's key first and skips the rows of other parts.
 */
function genProcess(
  opts: RollingKernelOptions,
  p: Plan,
  aggTrack: number[],
  int64: boolean,
  part: boolean,
): string {
  const w = opts.window;
  const lines: string[] = [
    part
      ? 'function (ts, keys, cols, out, nulls, partOf, part, parts) {'
      : 'function (ts, keys, cols, out, nulls) {',
    int64 ? 'const n = ts.length >> 1;' : 'const n = ts.length;',
  ];
  if (part) lines.push('const planned = partOf.length;');
  for (let j = 0; j < opts.inputs; j++)
    if (p.slotOf[j] >= 0 || p.ewms.some((e) => e.input === j)) lines.push(`const c${j} = cols[${j}];`);
  // z{a}: NaN (null) outputs of aggregate a, zf{a} / zl{a} the first and last row of one.
  for (let a = 0; a < opts.aggs.length; a++)
    lines.push(`const o${a} = out[${a}]; let z${a} = 0, zf${a} = -1, zl${a} = -1;`);
  const flush = `if (nulls !== undefined) { ${opts.aggs.map((_, a) => `nulls[${3 * a}] = z${a}; nulls[${3 * a + 1}] = zf${a}; nulls[${3 * a + 2}] = zl${a};`).join(' ')} }`;
  const isNull = (a: number) => `{ z${a}++; if (zf${a} < 0) zf${a} = i; zl${a} = i; }`;
  lines.push(
    'for (let i = 0; i < n; i++) {',
    part
      ? 'const k = keys[i]; if ((k < planned ? partOf[k] : k % parts) !== part) continue;'
      : 'const k = keys === null ? 0 : keys[i];',
    int64 ? 'const t = ts[2 * i + 1] * 4294967296 + (ts[2 * i] >>> 0);' : 'const t = ts[i];',
    'let s = states[k]; if (s === undefined) { s = newState(); states[k] = s; }',
    opts.unsorted === 'skip'
      ? `if (!(t >= s.lastTs)) { skipped[0]++; ${opts.aggs.map((_, a) => `o${a}[i] = NaN; ${isNull(a)}`).join(' ')} continue; }`
      : `if (!(t >= s.lastTs)) { ${flush} return i; }`,
    's.lastTs = t;',
    'if (s.tail - s.head > s.mask) grow(s);',
    'const m = s.mask; const a = s.acc; const TS = s.ts;',
    'let head = s.head; let mid = s.mid; let tail = s.tail; let evicted = s.evicted;',
  );
  for (let sl = 0; sl < p.slots; sl++) lines.push(`const V${sl} = s.v${sl};`);
  const loadAt = lines.push('') - 1;
  lines.push('const q = tail++;', 'TS[q & m] = t;');
  for (let j = 0; j < opts.inputs; j++) {
    const sl = p.slotOf[j];
    if (sl >= 0) lines.push(`const x${sl} = c${j}[i]; V${sl}[q & m] = x${sl};`);
  }
  if (w.kind === 'time') {
    const leftClosed = w.closed === 'left' || w.closed === 'both';
    const rightClosed = w.closed === 'right' || w.closed === 'both';
    if (rightClosed) lines.push(genAdd(p, 'q'), 'mid = tail;');
    else lines.push(`while (mid < q && TS[mid & m] < t) { const r = mid++; ${genAdd(p, 'r')} }`);
    lines.push(
      `const lo = t - ${w.periodUs};`,
      `while (head < mid && TS[head & m] ${leftClosed ? '<' : '<='} lo) { const r = head++; ${genEvict(p, 'r')} }`,
    );
  } else {
    lines.push(
      genAdd(p, 'q'),
      'mid = tail;',
      `while (tail - head > ${w.rows}) { const r = head++; ${genEvict(p, 'r')} }`,
    );
  }
  lines.push('s.head = head; s.mid = mid; s.tail = tail;');
  const recomputeAt = lines.push('') - 1;
  lines.push('s.evicted = evicted;');
  for (const e of p.ewms) {
    const o = e.acc;
    // decay = 1 − alpha; the mean's update is the same operations with or without the variance.
    const decay = `Math.exp((-Math.LN2 * (t - ${acc(o + EWM_LAST)})) / ${opts.halfLifeUs})`;
    const update = e.variance
      ? `{ const decay = ${decay}; const d = x - ${acc(o)}; const inc = (1 - decay) * d; ${acc(o)} += inc; ${acc(o + EWM_VAR)} = decay * (${acc(o + EWM_VAR)} + d * inc); }`
      : `${acc(o)} += (1 - ${decay}) * (x - ${acc(o)});`;
    lines.push(
      `{ const x = c${e.input}[i]; if (x === x) { const seen = ${acc(o + EWM_SEEN)};`,
      `if (seen === 0) ${acc(o)} = x; else ${update}`,
      `${acc(o + EWM_LAST)} = t; ${acc(o + EWM_SEEN)} = seen + 1; } }`,
    );
  }
  const storeAt = lines.push('') - 1;
  for (let a = 0; a < opts.aggs.length; a++)
    lines.push(
      `{ let r_; ${genOutput(p, opts.aggs[a], aggTrack[a])} o${a}[i] = r_; if (r_ !== r_) ${isNull(a)} }`,
    );
  // Load and store back only the accumulator slots the loop uses.
  const used = new Set<number>();
  for (const l of lines) for (const x of l.matchAll(/\bA(\d+)\b/g)) used.add(Number(x[1]));
  const slots = [...used].sort((x, y) => x - y);
  const load = slots.map((o) => `${acc(o)} = a[${o}];`).join(' ');
  const store = slots.map((o) => `a[${o}] = ${acc(o)};`).join(' ');
  if (slots.length > 0) lines[loadAt] = `let ${slots.map((o) => `${acc(o)} = a[${o}]`).join(', ')};`;
  lines[recomputeAt] =
    `if (evicted > ${RECOMPUTE_BASE} + ${RECOMPUTE_FACTOR} * (mid - head)) { ${store} recompute(s); evicted = 0; ${load} }`;
  lines[storeAt] = store;
  lines.push('}', flush, 'return -1;', '}');
  return lines.join('\n');
}

/** Generate the specialised row loops (float64 and int64 timestamps, sharing one state). */
function compile(opts: RollingKernelOptions): Compiled {
  const { plan: p, aggTrack } = plan(opts);
  const w = opts.window;
  if (w.kind === 'time' && !(w.periodUs > 0)) throw new RangeError('rolling period must be positive');
  if (w.kind === 'rows' && !(Number.isInteger(w.rows) && w.rows > 0))
    throw new RangeError('rolling rows must be a positive integer');
  const source = [
    genNewState(p),
    genGrow(p),
    genRecompute(p),
    'const states = [];',
    'const skipped = new Float64Array(1);',
    `return { skipped, f64: ${genProcess(opts, p, aggTrack, false, false)},`,
    `i64: ${genProcess(opts, p, aggTrack, true, false)},`,
    `f64Part: ${genProcess(opts, p, aggTrack, false, true)},`,
    `i64Part: ${genProcess(opts, p, aggTrack, true, true)} };`,
  ].join('\n');
  let factory = FACTORIES.get(source);
  if (factory === undefined) {
    factory = new Function('kadd', source) as Factory;
    FACTORIES.set(source, factory);
  }
  return factory(kadd);
}

type Factory = (add: typeof kadd) => Compiled;

interface Compiled {
  f64: ProcessFn;
  i64: ProcessFn;
  f64Part: PartFn;
  i64Part: PartFn;
  /** Rows skipped as unsorted (unsorted: skip). */
  skipped: Float64Array;
}

/** Generated factories by source text, so kernels of the same shape share optimised code. */
const FACTORIES = new Map<string, Factory>();

/**
 * Incremental rolling aggregation over rows sorted by time within each key. Create one per
 * stream; call {@link RollingKernel.process} for each batch in order.
 */
export class RollingKernel {
  private readonly run: Compiled;
  readonly aggs: number;

  constructor(opts: RollingKernelOptions) {
    this.run = compile(opts);
    this.aggs = opts.aggs.length;
  }

  /** Rows given null aggregates because they came earlier than their key's previous row. */
  get skipped(): number {
    return this.run.skipped[0];
  }

  /**
   * Aggregate `ts.length` rows. `ts` is µs as float64, or the int64 µs of an Arrow timestamp
   * column as they are (read without a conversion pass; exact below 2^53). `keys` holds per-row
   * key codes (>= 0), or null for one key. `cols[j]` is value column j; `out[a]` receives
   * aggregate a (NaN = null). `nulls`, when given (3 slots per aggregate), receives for each
   * aggregate a the number of NaN written to `out[a]` and the first and last row of one (-1 when
   * none), so the glue can skip looking for nulls where there are none.
   * Returns -1, or the index of the first row whose timestamp is earlier than the previous row
   * of its key (or NaN); rows before it have been processed.
   */
  process(
    ts: Float64Array | BigInt64Array,
    keys: Int32Array | null,
    cols: readonly Float64Array[],
    out: readonly Float64Array[],
    nulls?: Float64Array,
  ): number {
    if (ts instanceof BigInt64Array)
      return this.run.i64(new Int32Array(ts.buffer, ts.byteOffset, ts.length * 2), keys, cols, out, nulls);
    return this.run.f64(ts, keys, cols, out, nulls);
  }

  /**
   * {@link RollingKernel.process} over the rows whose key is in part `part` of `split` only: the
   * other rows are neither read (beyond their key) nor written, and leave no state. `nulls`
   * counts this part's rows; the returned row is the first unsorted row of this part's keys.
   * Kernels given every part of the same split, over the same rows, write together what one
   * {@link RollingKernel.process} call writes; their null counts and skipped rows add up to its,
   * the first and last null rows are the least and greatest of theirs, and its unsorted row is
   * the least of theirs.
   */
  processPart(
    ts: Float64Array | BigInt64Array,
    keys: Int32Array,
    cols: readonly Float64Array[],
    out: readonly Float64Array[],
    nulls: Float64Array | undefined,
    split: KeyParts,
    part: number,
  ): number {
    const { partOf, parts } = split;
    if (ts instanceof BigInt64Array) {
      const words = new Int32Array(ts.buffer, ts.byteOffset, ts.length * 2);
      return this.run.i64Part(words, keys, cols, out, nulls, partOf, part, parts);
    }
    return this.run.f64Part(ts, keys, cols, out, nulls, partOf, part, parts);
  }
}

/** One-shot helper: aggregate a whole input (sorted by time within each key). */
export function rollingAggregate(
  opts: RollingKernelOptions,
  ts: Float64Array,
  keys: Int32Array | null,
  cols: readonly Float64Array[],
): { out: Float64Array[]; unsortedRow: number } {
  const out = opts.aggs.map(() => new Float64Array(ts.length));
  const k = new RollingKernel(opts);
  const unsortedRow = k.process(ts, keys, cols, out);
  return { out, unsortedRow };
}
