import { makeData, RecordBatch, Struct, Table, Utf8, vectorFromArray } from 'apache-arrow';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckSet } from '../pipeline/acks.ts';
import { VirtualClock } from '../pipeline/clock.ts';
import type { Batch, Clock } from '../pipeline/types.ts';
import { float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { type AsofJoinOptions, asofJoin } from './asof.ts';
import { type AsofJoinStreamOptions, asofJoinStream, newAsofStreamStats } from './asof-stream.ts';
import { rowsOf } from './asof-testing.ts';
import { kernelModes, useKernels } from './kernels/native-testing.ts';

/** `describe` once per kernel mode on this machine (kernels/native-testing.ts), with that mode in use. */
function describeKernels(name: string, body: () => void): void {
  describe.each(kernelModes())(`${name} (%s kernels)`, (mode) => {
    beforeAll(() => useKernels(mode));
    afterAll(() => useKernels('native'));
    body();
  });
}

const table = (t: number[], g: string[], extra: string, vals: number[]) =>
  tableFromVectors({
    t: float64Vector(Float64Array.from(t)),
    g: vectorFromArray(g, new Utf8()),
    [extra]: float64Vector(Float64Array.from(vals)),
  });

/** A test harness: two subjects, the output collected, an ack set per pushed batch. */
function harness(opts: AsofJoinStreamOptions, clock?: Clock) {
  const left = new Subject<Batch>();
  const right = new Subject<Batch>();
  const out: Batch[] = [];
  const state = { completed: false, error: undefined as unknown };
  const subscription = left.pipe(asofJoinStream(right, opts, clock)).subscribe({
    next: (b) => out.push(b),
    complete: () => {
      state.completed = true;
    },
    error: (e) => {
      state.error = e;
    },
  });
  const push = (s: Subject<Batch>, name: string, data: RecordBatch) => {
    const acks = new AckSet([{ ack() {}, nack() {} }]);
    s.next({ stream: name, data, acks });
    return acks;
  };
  return {
    out,
    state,
    left: (data: RecordBatch) => push(left, 'trades', data),
    right: (data: RecordBatch) => push(right, 'quotes', data),
    leftDone: () => left.complete(),
    rightDone: () => right.complete(),
    rows: () => out.flatMap((b) => rowsOf(new Table([b.data]))),
    unsubscribe: () => subscription.unsubscribe(),
  };
}

const batch = (t: Table, from: number, to: number) => t.batches[0].slice(from, to);

describeKernels('asofJoinStream: emission waits for the right watermark', () => {
  const quotes = table([1, 2, 4, 6], ['a', 'a', 'a', 'a'], 'bid', [10, 20, 40, 60]);
  const trades = table([3, 5], ['a', 'a'], 'px', [1, 2]);
  it('backward emits a left row once the right side has passed it, with its acks', () => {
    const h = harness({ on: 't', by: 'g' });
    const ackAll = () => {
      for (const b of h.out) b.acks.ack();
    };
    const qa = h.right(batch(quotes, 0, 1));
    const qb = h.right(batch(quotes, 1, 2));
    const l = h.left(trades.batches[0]);
    expect(h.rows()).toEqual([]);
    ackAll();
    expect([qa.settled, qb.settled, l.settled]).toEqual([true, false, false]);
    const qc = h.right(batch(quotes, 2, 3));
    expect(h.rows()).toEqual([{ t: 3, g: 'a', px: 1, bid: 20 }]);
    ackAll();
    expect([qb.settled, qc.settled, l.settled]).toEqual([true, false, false]);
    const qd = h.right(batch(quotes, 3, 4));
    expect(h.rows()).toEqual([
      { t: 3, g: 'a', px: 1, bid: 20 },
      { t: 5, g: 'a', px: 2, bid: 40 },
    ]);
    ackAll();
    expect([qc.settled, qd.settled, l.settled]).toEqual([false, false, true]);
    h.leftDone();
    expect(h.state.completed).toBe(true);
    expect(h.out.at(-1)!.data.numRows).toBe(0);
    ackAll();
    expect([qc.settled, qd.settled]).toEqual([true, true]);
  });
  it('backward waits for later right rows with the same timestamp (the last one wins)', () => {
    const h = harness({ on: 't' });
    h.right(
      tableFromVectors({ t: float64Vector(Float64Array.of(5)), v: float64Vector(Float64Array.of(1)) })
        .batches[0],
    );
    h.left(tableFromVectors({ t: float64Vector(Float64Array.of(5)) }).batches[0]);
    expect(h.rows()).toEqual([]);
    h.right(
      tableFromVectors({ t: float64Vector(Float64Array.of(5)), v: float64Vector(Float64Array.of(2)) })
        .batches[0],
    );
    expect(h.rows()).toEqual([]);
    h.right(
      tableFromVectors({ t: float64Vector(Float64Array.of(6)), v: float64Vector(Float64Array.of(3)) })
        .batches[0],
    );
    expect(h.rows()).toEqual([{ t: 5, v: 2 }]);
  });
  it('forward emits once a match at or below the watermark exists, or the tolerance has passed', () => {
    const h = harness({ on: 't', by: 'g', strategy: 'forward', tolerance: 1 });
    h.left(trades.batches[0]);
    h.right(batch(quotes, 0, 3));
    expect(h.rows()).toEqual([{ t: 3, g: 'a', px: 1, bid: 40 }]);
    h.right(batch(quotes, 3, 4));
    expect(h.rows()[1]).toEqual({ t: 5, g: 'a', px: 2, bid: 60 });
  });
  it('nearest waits until no later right row can be closer', () => {
    const h = harness({ on: 't', by: 'g', strategy: 'nearest' });
    h.left(batch(trades, 0, 1));
    h.right(batch(quotes, 0, 3));
    expect(h.out).toHaveLength(0);
    h.right(batch(quotes, 3, 4));
    expect(h.rows()).toEqual([{ t: 3, g: 'a', px: 1, bid: 40 }]);
  });
  it('immediate mode matches against the right rows seen so far', () => {
    const h = harness({ on: 't', by: 'g', emit: 'immediate', right_schema: quotes.schema });
    h.left(batch(trades, 0, 1));
    expect(h.rows()).toEqual([{ t: 3, g: 'a', px: 1, bid: null }]);
    h.right(batch(quotes, 0, 2));
    h.left(batch(trades, 1, 2));
    expect(h.rows()[1]).toEqual({ t: 5, g: 'a', px: 2, bid: 20 });
  });
  it('emits left rows once the right side completes, and completes after the left side', () => {
    const h = harness({ on: 't', by: 'g' });
    h.right(batch(quotes, 0, 2));
    h.left(trades.batches[0]);
    h.rightDone();
    expect(h.rows().map((r) => r.bid)).toEqual([20, 20]);
    expect(h.state.completed).toBe(false);
    h.leftDone();
    expect(h.state.completed).toBe(true);
  });
});

describeKernels('asofJoinStream: idle timeout of the right side', () => {
  const T0 = 1_767_225_600_000_000;
  const ts = (secs: number[]) => timestampVector(Float64Array.from(secs, (x) => T0 + x * 1e6));
  const quotesAt = (secs: number[], bids: number[]) =>
    tableFromVectors({ ts: ts(secs), bid: float64Vector(Float64Array.from(bids)) }).batches[0];
  const tradesAt = (secs: number[]) => tableFromVectors({ ts: ts(secs) }).batches[0];

  it('without it, a quiet right side holds the left rows', () => {
    const clock = new VirtualClock();
    const h = harness({ on: 'ts' }, clock);
    h.right(quotesAt([0, 1], [1, 2]));
    h.left(tradesAt([1.5, 2.5]));
    clock.advance(60_000);
    expect(h.rows()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('moves the right watermark with the clock once the right side is quiet, then counts later right rows below it as late', () => {
    const clock = new VirtualClock();
    const stats = newAsofStreamStats();
    const h = harness({ on: 'ts', idle_timeout_ms: 2000, allowed_lateness: '500ms', stats }, clock);
    h.right(quotesAt([0, 1], [1, 2]));
    h.left(tradesAt([1.5, 2.5, 4.2]));
    // W = 1 s - 0.5 s: nothing is final yet.
    clock.advance(1999);
    expect(h.rows()).toEqual([]);
    // Quiet for 2 s: W = 1 s + 2 s - 0.5 s = 2.5 s, past 1.5 s but not 2.5 s (a quote at 2.5 s could still come).
    clock.advance(1);
    expect(h.rows().map((r) => r.bid)).toEqual([2]);
    expect(stats.idleAdvances).toBe(1);
    // Checked again every 2 s: at 4 s quiet, W = 4.5 s releases the rest (no quote since 1 s).
    clock.advance(2000);
    expect(h.rows().map((r) => r.bid)).toEqual([2, 2, 2]);
    // The left batch's acks go out with its last row.
    expect(h.out.at(-1)!.acks.size).toBe(1);
    // No left row waits: the timer stops.
    expect(clock.pending).toBe(0);
    // A quote at 3 s is now below W - lateness: late, dropped and counted; one at 6 s is taken.
    h.right(quotesAt([3, 6], [3, 6]));
    expect(stats.lateRightRows).toBe(1);
    h.left(tradesAt([6.5]));
    h.rightDone();
    expect(h.rows().map((r) => r.bid)).toEqual([2, 2, 2, 6]);
  });

  it('keeps the watermark while right batches keep coming, and restarts the wait after each', () => {
    const clock = new VirtualClock();
    const stats = newAsofStreamStats();
    const h = harness({ on: 'ts', idle_timeout_ms: 1000, stats }, clock);
    h.right(quotesAt([0], [1]));
    h.left(tradesAt([10]));
    for (let i = 1; i <= 5; i++) {
      clock.advance(900);
      h.right(quotesAt([i], [i + 1]));
    }
    // Quotes every 0.9 s: never quiet for 1 s, so the trade at 10 s waits for the quotes.
    expect(h.rows()).toEqual([]);
    expect(stats.idleAdvances).toBe(0);
    // Quiet from 4.5 s of clock time: the check at 10 s finds 5.5 s of quiet, W = 5 s + 5.5 s.
    clock.advance(5000);
    expect(h.rows()).toEqual([]);
    clock.advance(1000);
    expect(h.rows().map((r) => r.bid)).toEqual([6]);
  });

  it('releases forward and nearest rows that have no later right row within the tolerance', () => {
    for (const strategy of ['forward', 'nearest'] as const) {
      const clock = new VirtualClock();
      const h = harness({ on: 'ts', strategy, tolerance: '1s', idle_timeout_ms: 3000 }, clock);
      h.right(quotesAt([0, 1], [1, 2]));
      h.left(tradesAt([1.2]));
      clock.advance(3000);
      expect(h.rows().map((r) => r.bid)).toEqual([strategy === 'forward' ? null : 2]);
    }
  });

  it('refuses a non-timestamp on column, and stops its timer when unsubscribed', () => {
    const h = harness({ on: 't', idle_timeout_ms: 1000 }, new VirtualClock());
    h.right(table([1], ['a'], 'bid', [1]).batches[0]);
    expect(String(h.state.error)).toMatch(/idle_timeout needs a timestamp on column: "t" is Float64/);
    expect(String(harness({ on: 'ts', idle_timeout_ms: 0 }).state.error)).toMatch(/idle_timeout must be > 0/);
    const clock = new VirtualClock();
    const h2 = harness({ on: 'ts', idle_timeout_ms: 1000 }, clock);
    h2.right(quotesAt([0], [1]));
    h2.left(tradesAt([5]));
    expect(clock.pending).toBe(1);
    h2.unsubscribe();
    expect(clock.pending).toBe(0);
  });
});

describeKernels('asofJoinStream: bounds, lateness and errors', () => {
  it('drops and counts late right rows; allowed_lateness accepts them', () => {
    const stats = newAsofStreamStats();
    const h = harness({ on: 't', stats });
    h.right(tableFromVectors({ t: float64Vector(Float64Array.from([5, 3])) }).batches[0]);
    expect(stats.lateRightRows).toBe(1);
    const stats2 = newAsofStreamStats();
    const h2 = harness({ on: 't', stats: stats2, allowed_lateness: 2 });
    h2.right(
      tableFromVectors({
        t: float64Vector(Float64Array.from([5, 3])),
        v: float64Vector(Float64Array.from([1, 2])),
      }).batches[0],
    );
    h2.left(tableFromVectors({ t: float64Vector(Float64Array.from([4])) }).batches[0]);
    h2.rightDone();
    expect(stats2.lateRightRows).toBe(0);
    expect(h2.rows()).toEqual([{ t: 4, v: 2 }]);
  });
  it('keeps at most max_right_rows_per_key rows per key', () => {
    const stats = newAsofStreamStats();
    const h = harness({ on: 't', by: 'g', stats, max_right_rows_per_key: 2 });
    h.right(table([1, 2, 3, 4], ['a', 'a', 'a', 'b'], 'v', [1, 2, 3, 4]).batches[0]);
    expect(stats.evictedRightRows).toBe(1);
    h.left(table([1.5, 2.5], ['a', 'a'], 'x', [0, 0]).batches[0]);
    h.rightDone();
    expect(h.rows().map((r) => r.v)).toEqual([null, 2]);
  });
  it('without a right schema and an empty right side, emits the left columns only', () => {
    const h = harness({ on: 't' });
    h.left(tableFromVectors({ t: float64Vector(Float64Array.from([1])) }).batches[0]);
    h.rightDone();
    h.leftDone();
    expect(h.rows()).toEqual([{ t: 1 }]);
    expect(h.state.completed).toBe(true);
  });
  it('reads right columns by name when the declared right schema lists them in another order', () => {
    const declared = tableFromVectors({
      bid: float64Vector(Float64Array.of(0)),
      t: float64Vector(Float64Array.of(0)),
    }).schema;
    const h = harness({ on: 't', right_schema: declared });
    h.right(
      tableFromVectors({ t: float64Vector(Float64Array.of(1)), bid: float64Vector(Float64Array.of(9)) })
        .batches[0],
    );
    h.left(tableFromVectors({ t: float64Vector(Float64Array.of(2)) }).batches[0]);
    h.rightDone();
    expect(h.rows()).toEqual([{ t: 2, bid: 9 }]);
  });
  it('joins µs timestamp columns with a duration tolerance across several right batches', () => {
    const T0 = 1_767_225_600_000_000;
    const ts = (secs: number[]) => timestampVector(Float64Array.from(secs, (x) => T0 + x * 1e6));
    const h = harness({ on: 'ts', tolerance: '1s' });
    h.right(tableFromVectors({ ts: ts([0, 1]), bid: float64Vector(Float64Array.of(1, 2)) }).batches[0]);
    h.right(tableFromVectors({ ts: ts([3]), bid: float64Vector(Float64Array.of(3)) }).batches[0]);
    h.left(tableFromVectors({ ts: ts([1.5, 2.5, 3]) }).batches[0]);
    h.right(tableFromVectors({ ts: ts([9]), bid: float64Vector(Float64Array.of(9)) }).batches[0]);
    expect(h.rows().map((r) => r.bid)).toEqual([2, null, 3]);
  });
  it('emits record batches equal to those Arrow builds over their columns (left slices and nulls included)', () => {
    const T0 = 1_767_225_600_000_000;
    const ts = (secs: number[]) => timestampVector(Float64Array.from(secs, (x) => T0 + x * 1e6));
    // Float64 right columns (written by the merge) and a utf8 one (gathered by slot and row).
    const sides = [
      (t: number[]) => ({
        ts: ts(t),
        bid: float64Vector(Float64Array.from(t)),
        ask: float64Vector(Float64Array.from(t, (x) => -x)),
      }),
      (t: number[]) => ({ ts: ts(t), venue: vectorFromArray(t.map(String), new Utf8()) }),
    ];
    for (const side of sides) {
      const h = harness({ on: 'ts', tolerance: '1s' });
      h.right(tableFromVectors(side([0, 1])).batches[0]);
      h.left(
        tableFromVectors({ ts: ts([0.5, 1.5, 3, 4]), px: float64Vector(Float64Array.of(1, 2, 3, 4)) })
          .batches[0],
      );
      h.right(tableFromVectors(side([5])).batches[0]);
      h.rightDone();
      h.leftDone();
      // The left batch leaves in two parts: the row before the first watermark, then the rest
      // (two of them unmatched, beyond the tolerance); an empty batch carries the right acks.
      expect(h.out.map((b) => b.data.numRows)).toEqual([1, 3, 0]);
      for (const { data } of h.out) {
        const children = data.data.children;
        const struct = makeData({ type: new Struct(data.schema.fields), length: data.numRows, children });
        expect(data).toBeInstanceOf(RecordBatch);
        expect(data).toEqual(new RecordBatch(data.schema, struct));
      }
      expect(h.out[1].data.getChild(side === sides[0] ? 'bid' : 'venue')!.nullCount).toBe(2);
    }
  });
  it('rejects immediate emission with another strategy, and passes errors on', () => {
    const h = harness({ on: 't', strategy: 'nearest', emit: 'immediate' });
    expect(String(h.state.error)).toMatch(/emit: immediate needs strategy backward/);
    const h2 = harness({ on: 'ts' });
    h2.left(tableFromVectors({ t: float64Vector(Float64Array.from([1])) }).batches[0]);
    expect(String(h2.state.error)).toMatch(/left column "ts" not found/);
  });
});

/** Arbitrary sorted table of `n` rows with keys, plus split points. */
const sideArb = (maxLen: number) =>
  fc
    .array(
      fc.record({
        dt: fc.integer({ min: 0, max: 2 }),
        k: fc.constantFrom('a', 'b'),
        cut: fc.boolean(),
        nan: fc.integer({ min: 0, max: 19 }),
      }),
      { maxLength: maxLen },
    )
    .map((rows) => {
      let t = 0;
      const ts: number[] = [];
      for (const r of rows) {
        t += r.dt;
        ts.push(r.nan === 0 ? Number.NaN : t);
      }
      return { ts, keys: rows.map((r) => r.k), cuts: rows.map((r) => r.cut) };
    });

function splitAt(t: Table, cuts: boolean[]): RecordBatch[] {
  const rb = t.batches[0];
  if (!rb) return [];
  const out: RecordBatch[] = [];
  let from = 0;
  for (let i = 1; i <= t.numRows; i++)
    if (i === t.numRows || cuts[i]) {
      out.push(rb.slice(from, i));
      if (cuts[i] && i < t.numRows && cuts[i - 1]) out.push(rb.slice(i, i));
      from = i;
    }
  return out;
}

describeKernels('asofJoinStream: split and interleaving invariance (fast-check)', () => {
  it('after completion, equals the batch operator for any split and arrival order, and releases every ack', () => {
    fc.assert(
      fc.property(
        sideArb(14),
        sideArb(14),
        fc.constantFrom('backward', 'forward', 'nearest'),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (L, R, strategy, allow, tolerance, useBy, lateness, order) => {
          const lt = table(
            L.ts,
            L.keys,
            'x',
            L.ts.map((_, i) => i),
          );
          const rt = table(
            R.ts,
            R.keys,
            'v',
            R.ts.map((_, i) => i),
          );
          const opts: AsofJoinOptions = {
            on: 't',
            by: useBy ? 'g' : undefined,
            strategy,
            allow_exact_matches: allow,
            tolerance,
          };
          const expected = rowsOf(asofJoin(lt, rt, opts));
          const h = harness({ ...opts, allowed_lateness: lateness, right_schema: rt.schema });
          const lb = splitAt(lt, L.cuts);
          const rb = splitAt(rt, R.cuts);
          const acks: AckSet[] = [];
          let i = 0;
          let j = 0;
          let step = 0;
          while (i <= lb.length || j <= rb.length) {
            const takeLeft = j > rb.length || (i <= lb.length && order[step++ % order.length]);
            if (takeLeft) {
              if (i < lb.length) {
                const a = h.left(lb[i]);
                if (!h.state.completed) acks.push(a);
              } else h.leftDone();
              i++;
            } else {
              if (j < rb.length) {
                const a = h.right(rb[j]);
                if (!h.state.completed) acks.push(a);
              } else h.rightDone();
              j++;
            }
          }
          expect(h.state.error).toBeUndefined();
          expect(h.state.completed).toBe(true);
          expect(h.rows()).toEqual(expected);
          if (lb.length > 0) expect(acks.every((a) => !a.settled)).toBe(true);
          for (const b of h.out) b.acks.ack();
          expect(acks.every((a) => a.settled)).toBe(true);
        },
      ),
      { numRuns: 250 },
    );
  });
  it('over µs timestamps with two or three float64 right columns (the int64 merge carrying them), equals the batch operator', () => {
    const T0 = 1_767_225_600_000_000;
    // The side's times without its NaN rows (µs timestamps here have no nulls: int64 all the way).
    const times = (ts: number[]) => {
      const out: number[] = [];
      for (const t of ts) out.push(Number.isNaN(t) ? (out[out.length - 1] ?? 0) : t);
      return out;
    };
    fc.assert(
      fc.property(
        sideArb(24),
        sideArb(24),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.boolean(),
        (L, R, allow, tolerance, useBy, order, third) => {
          const lts = times(L.ts);
          const rts = times(R.ts);
          const lt = tableFromVectors({
            ts: timestampVector(Float64Array.from(lts, (t) => T0 + t)),
            g: vectorFromArray(L.keys, new Utf8()),
            x: float64Vector(Float64Array.from(lts, (_, i) => i)),
          });
          const rt = tableFromVectors({
            ts: timestampVector(Float64Array.from(rts, (t) => T0 + t)),
            g: vectorFromArray(R.keys, new Utf8()),
            bid: float64Vector(Float64Array.from(rts, (_, i) => i)),
            ask: float64Vector(Float64Array.from(rts, (_, i) => -i)),
            ...(third ? { mid: float64Vector(Float64Array.from(rts, (_, i) => i / 2)) } : {}),
          });
          const opts: AsofJoinOptions = {
            on: 'ts',
            by: useBy ? 'g' : undefined,
            allow_exact_matches: allow,
            tolerance,
          };
          const expected = rowsOf(asofJoin(lt, rt, opts));
          const h = harness({ ...opts, right_schema: rt.schema });
          const lb = splitAt(lt, L.cuts);
          const rb = splitAt(rt, R.cuts);
          let i = 0;
          let j = 0;
          let step = 0;
          while (i <= lb.length || j <= rb.length) {
            if (j > rb.length || (i <= lb.length && order[step++ % order.length])) {
              if (i < lb.length) h.left(lb[i]);
              else h.leftDone();
              i++;
            } else {
              if (j < rb.length) h.right(rb[j]);
              else h.rightDone();
              j++;
            }
          }
          expect(h.state.error).toBeUndefined();
          expect(h.rows()).toEqual(expected);
        },
      ),
      { numRuns: 250 },
    );
  });
  it('keeps the carried values of earlier keys when new keys arrive past the merge state capacity', () => {
    const T0 = 1_767_225_600_000_000;
    // Key k quotes once, at time 10·k (12 keys); every key seen so far trades every 10 µs, so
    // trades after the state grows read values carried from before.
    const quotes: { t: number; g: string }[] = [];
    const trades: { t: number; g: string }[] = [];
    for (let t = 0; t < 200; t += 10) {
      if (t < 120) quotes.push({ t, g: `s${t / 10}` });
      for (let k = 0; k <= Math.min(11, t / 10); k++) trades.push({ t: t + 5 + k / 100, g: `s${k}` });
    }
    const side = (rows: { t: number; g: string }[], cols: Record<string, (i: number) => number>) =>
      tableFromVectors({
        ts: timestampVector(Float64Array.from(rows, (r) => T0 + Math.round(r.t * 100))),
        g: vectorFromArray(
          rows.map((r) => r.g),
          new Utf8(),
        ),
        ...Object.fromEntries(
          Object.entries(cols).map(([name, f]) => [
            name,
            float64Vector(Float64Array.from(rows, (_, i) => f(i))),
          ]),
        ),
      });
    const lt = side(trades, { x: (i) => i });
    const rt = side(quotes, { bid: (i) => i, ask: (i) => -i });
    const opts: AsofJoinOptions = { on: 'ts', by: 'g' };
    const h = harness({ ...opts, right_schema: rt.schema });
    const lb = splitAt(
      lt,
      trades.map((_, i) => i % 3 === 0),
    );
    const rb = splitAt(
      rt,
      quotes.map((_, i) => i % 3 === 0),
    );
    // Event-time arrival: the batch that starts earlier first.
    const first = (b: RecordBatch) => Number(b.getChild('ts')!.get(0));
    let i = 0;
    let j = 0;
    while (i < lb.length || j < rb.length)
      if (j >= rb.length || (i < lb.length && first(lb[i]) < first(rb[j]))) h.left(lb[i++]);
      else h.right(rb[j++]);
    h.rightDone();
    h.leftDone();
    expect(h.state.error).toBeUndefined();
    expect(h.rows()).toEqual(rowsOf(asofJoin(lt, rt, opts)));
  });
  it('equals the batch operator when the input turns out of order mid-stream, within the lateness', () => {
    // In order at first (backward matching runs as one merge), then some rows 1 early while each
    // key stays in order (the batch operator needs that): the per-key histories take over from
    // the rows the merge retains.
    const jitter = (x: { ts: number[]; keys: string[]; cuts: boolean[] }, late: boolean[]) => {
      const last = new Map<string, number>();
      const ts = x.ts.map((t, i) => {
        const prev = last.get(x.keys[i]) ?? Number.NEGATIVE_INFINITY;
        const v = i >= x.ts.length / 2 && late[i] && t - 1 >= prev ? t - 1 : t;
        if (!Number.isNaN(v)) last.set(x.keys[i], v);
        return v;
      });
      return { ...x, ts };
    };
    fc.assert(
      fc.property(
        sideArb(16),
        sideArb(16),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (L0, R0, lateL, lateR, allow, order) => {
          const L = jitter(L0, lateL);
          const R = jitter(R0, lateR);
          const lt = table(
            L.ts,
            L.keys,
            'x',
            L.ts.map((_, i) => i),
          );
          const rt = table(
            R.ts,
            R.keys,
            'v',
            R.ts.map((_, i) => i),
          );
          const opts: AsofJoinOptions = { on: 't', by: 'g', allow_exact_matches: allow, tolerance: 2 };
          const h = harness({ ...opts, allowed_lateness: 1, right_schema: rt.schema });
          const lb = splitAt(lt, L.cuts);
          const rb = splitAt(rt, R.cuts);
          let i = 0;
          let j = 0;
          for (const takeLeft of order)
            if (takeLeft && i < lb.length) h.left(lb[i++]);
            else if (j < rb.length) h.right(rb[j++]);
          while (i < lb.length) h.left(lb[i++]);
          while (j < rb.length) h.right(rb[j++]);
          h.rightDone();
          h.leftDone();
          expect(h.state.completed).toBe(true);
          expect(h.rows()).toEqual(rowsOf(asofJoin(lt, rt, opts)));
        },
      ),
      { numRuns: 200 },
    );
  });
  it('evicts as the histories do when a key passes max_right_rows_per_key after running as a merge', () => {
    const stats = newAsofStreamStats();
    const h = harness({ on: 't', by: 'g', stats, max_right_rows_per_key: 2 });
    const trades = table([0.5, 1.5, 2.5], ['a', 'a', 'a'], 'x', [0, 0, 0]);
    const quotes = table([1, 2, 3], ['a', 'a', 'a'], 'v', [1, 2, 3]);
    h.left(batch(trades, 0, 1));
    h.right(batch(quotes, 0, 2));
    expect(stats.evictedRightRows).toBe(0);
    // A third retained row of key a: the oldest (t = 1) goes, so t = 1.5 finds no match.
    h.right(batch(quotes, 2, 3));
    expect(stats.evictedRightRows).toBe(1);
    h.left(batch(trades, 1, 3));
    h.rightDone();
    h.leftDone();
    expect(h.rows().map((r) => r.v)).toEqual([null, null, 2]);
  });
  it('handles inputs sorted only within each key when the lateness covers the disorder', () => {
    fc.assert(
      fc.property(
        sideArb(12),
        sideArb(12),
        fc.constantFrom('backward', 'forward', 'nearest'),
        fc.array(fc.boolean(), { maxLength: 30 }),
        (L, R, strategy, order) => {
          const byKey = (x: { ts: number[]; keys: string[] }) => {
            const idx = x.ts.map((_, i) => i).sort((a, b) => x.keys[a].localeCompare(x.keys[b]) || a - b);
            return { ts: idx.map((i) => x.ts[i]), keys: idx.map((i) => x.keys[i]) };
          };
          const l = byKey(L);
          const r = byKey(R);
          const lt = table(
            l.ts,
            l.keys,
            'x',
            l.ts.map((_, i) => i),
          );
          const rt = table(
            r.ts,
            r.keys,
            'v',
            r.ts.map((_, i) => i),
          );
          const opts: AsofJoinOptions = { on: 't', by: 'g', strategy };
          const h = harness({ ...opts, allowed_lateness: 1000, right_schema: rt.schema });
          const lb = splitAt(lt, L.cuts);
          const rb = splitAt(rt, R.cuts);
          let i = 0;
          let j = 0;
          for (const takeLeft of order)
            if (takeLeft && i < lb.length) h.left(lb[i++]);
            else if (j < rb.length) h.right(rb[j++]);
          while (i < lb.length) h.left(lb[i++]);
          while (j < rb.length) h.right(rb[j++]);
          h.rightDone();
          h.leftDone();
          expect(h.state.completed).toBe(true);
          expect(h.rows()).toEqual(rowsOf(asofJoin(lt, rt, opts)));
        },
      ),
      { numRuns: 100 },
    );
  });
});
