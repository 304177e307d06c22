import { RecordBatch, Table, tableFromIPC, tableToIPC, type Vector } from 'apache-arrow';
import fc from 'fast-check';
import { from, lastValueFrom, Subject, toArray, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type AckHandle, AckSet } from '../pipeline/acks.ts';
import { VirtualClock } from '../pipeline/clock.ts';
import type { Batch, Clock } from '../pipeline/types.ts';
import {
  dictionaryVector,
  float64Vector,
  recordBatchFromVectors,
  tableFromVectors,
  timestampVector,
} from './arrow.ts';
import { type ResampleOptions, resampleOhlcv } from './resample.ts';
import { type ResampleStreamStats, resampleOhlcvStream } from './resample-stream.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;
const S = 1e6;
const SYMBOLS = ['A', 'B', 'C'];

interface Trade {
  t: number;
  /** null: a null key. */
  sym: string | null;
  p: number;
  s: number;
}

function columns(rows: Trade[]) {
  return {
    ts: timestampVector(new Float64Array(rows.map((r) => r.t))),
    symbol: symbolVector(rows),
    price: float64Vector(new Float64Array(rows.map((r) => r.p))),
    size: float64Vector(new Float64Array(rows.map((r) => r.s))),
  };
}

function symbolVector(rows: Trade[]): Vector {
  const codes = new Int32Array(rows.map((r) => Math.max(0, SYMBOLS.indexOf(r.sym ?? ''))));
  return dictionaryVector(codes, SYMBOLS, -1, new Uint8Array(rows.map((r) => (r.sym === null ? 0 : 1))));
}

const rb = (rows: Trade[]): RecordBatch => recordBatchFromVectors(columns(rows));

/** An AckSet whose handle records its outcome (and a nack's reason). */
function tracked(): { acks: AckSet; state: () => string; reason: () => unknown } {
  let state = 'open';
  let why: unknown;
  const h: AckHandle = {
    ack: () => {
      state = 'acked';
    },
    nack: (reason: Error) => {
      state = 'nacked';
      why = reason;
    },
  };
  return { acks: new AckSet([h]), state: () => state, reason: () => why };
}

const batch = (rows: Trade[], acks = AckSet.empty()): Batch => ({ stream: 'trades', data: rb(rows), acks });

const plain = (t: Table | RecordBatch) =>
  t.toArray().map((r) => {
    const o = { ...r.toJSON() } as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'bigint') o[k] = Number(v);
    return o;
  });

const byKeyTime = (rows: Record<string, unknown>[]) =>
  [...rows].sort(
    (a, b) =>
      String(a.symbol ?? '').localeCompare(String(b.symbol ?? '')) || (a.ts as number) - (b.ts as number),
  );

function randomTrades(seed: number, n: number, nullKeys = false): Trade[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const out: Trade[] = [];
  let t = T0 + Math.floor(rnd() * 300) * S;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    t += r < 0.2 ? 0 : r < 0.9 ? Math.floor(rnd() * 30) * S : Math.floor(rnd() * 300) * S;
    out.push({
      t,
      sym: nullKeys && rnd() < 0.1 ? null : SYMBOLS[Math.floor(rnd() * 3)],
      p: 50 + Math.floor(rnd() * 40) / 2,
      s: 1 + Math.floor(rnd() * 5),
    });
  }
  return out;
}

/** A virtual clock: `advance(ms)` runs the timers due by then. */
function virtualClock(): Clock & { advance(toMs: number): void } {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  return {
    scheduler,
    now: () => scheduler.now(),
    advance(toMs: number) {
      scheduler.maxFrames = toMs;
      scheduler.flush();
      scheduler.frame = toMs;
    },
  };
}

describe('resampleOhlcvStream equals the batch operator', () => {
  it('for any split of the input into batches (final bars, lateness 0, then complete; null keys too)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 79 }), { maxLength: 12 }),
        fc.record({
          every: fc.constantFrom('30s', '1m', '2m'),
          period: fc.constantFrom(undefined, '90s', '3m'),
          closed: fc.constantFrom('left', 'right', 'both', 'none'),
          label: fc.constantFrom('left', 'right'),
          fill: fc.constantFrom('none', 'null', 'prev', 'linear', 7),
          by: fc.constantFrom(undefined, 'symbol'),
          timeZone: fc.constantFrom(undefined, 'America/New_York'),
        }),
        fc.boolean(),
        async (seed, cuts, cfg, nullKeys) => {
          const rows = randomTrades(seed, 80, nullKeys);
          const o = { ...cfg, includeFirstLastTs: true } as ResampleOptions;
          const expected = plain(resampleOhlcv(tableFromVectors(columns(rows)), o));
          const bounds = [0, ...[...cuts].sort((a, b) => a - b), rows.length];
          const batches: Batch[] = [];
          for (let i = 0; i + 1 < bounds.length; i++)
            batches.push(batch(rows.slice(bounds[i], bounds[i + 1])));
          const out = await lastValueFrom(from(batches).pipe(resampleOhlcvStream(o), toArray()));
          const got = out.flatMap((b) => plain(b.data));
          expect(byKeyTime(got)).toEqual(byKeyTime(expected));
        },
      ),
      { seed: 7, numRuns: 50 },
    );
  });
});

describe('resampleOhlcvStream: event time and acks', () => {
  it('holds a batch’s acks until every bar with its rows is emitted', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input.pipe(resampleOhlcvStream({ every: '1m', by: 'symbol' })).subscribe((b) => out.push(b));
    const a = tracked();
    const b = tracked();
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }], a.acks));
    expect(out).toHaveLength(0);
    input.next(batch([{ t: T0 + 70 * S, sym: 'B', p: 2, s: 1 }], b.acks));
    expect(out).toHaveLength(1);
    expect(plain(out[0].data).map((r) => [r.symbol, r.open])).toEqual([['A', 1]]);
    expect(out[0].acks.size).toBe(1);
    out[0].acks.ack();
    expect([a.state(), b.state()]).toEqual(['acked', 'open']);
    input.complete();
    // B's bar was still open: it is emitted, but its rows are nacked so a replay rebuilds it whole.
    expect(out).toHaveLength(2);
    expect(plain(out[1].data).map((r) => [r.symbol, r.open])).toEqual([['B', 2]]);
    expect(b.state()).toBe('nacked');
    expect(String((b.reason() as Error).message)).toMatch(/the input ended with 1 open bar\(s\)/);
    out[1].acks.ack();
    expect(b.state()).toBe('nacked');
  });

  it('skips rows with a null event time and counts them as invalid', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    const stats: ResampleStreamStats = { lateDropped: 0, lateCorrected: 0, invalidRows: 0, barsEmitted: 0 };
    input.pipe(resampleOhlcvStream({ every: '1m', stats })).subscribe((b) => out.push(b));
    const rows = [
      { t: T0 + 10 * S, sym: 'A', p: 1, s: 1 },
      { t: 0, sym: 'A', p: 99, s: 1 },
      { t: T0 + 20 * S, sym: 'A', p: 2, s: 1 },
    ];
    const cols = columns(rows);
    const data = recordBatchFromVectors({
      ...cols,
      ts: timestampVector(new Float64Array(rows.map((r) => r.t)), new Uint8Array([1, 0, 1])),
    });
    input.next({ stream: 'trades', data, acks: AckSet.empty() });
    input.next(batch([{ t: T0 + 70 * S, sym: 'A', p: 3, s: 1 }]));
    const bars = out.flatMap((b) => plain(b.data));
    expect(bars.map((r) => [r.open, r.high, r.close, r.trades])).toEqual([[1, 2, 2, 2]]);
    expect(stats.invalidRows).toBe(1);
  });

  it('marks bars cut short by the end of input as not final', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    const clock = new VirtualClock();
    input
      .pipe(resampleOhlcvStream({ every: '1m', provisional: { intervalMs: 60_000 } }, clock))
      .subscribe((b) => out.push(b));
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }]));
    input.next(batch([{ t: T0 + 70 * S, sym: 'A', p: 2, s: 1 }]));
    input.complete();
    const bars = out.flatMap((b) => plain(b.data));
    expect(bars.map((r) => [r.open, r.final])).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  it('keeps one dictionary id for the key column across output batches', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input.pipe(resampleOhlcvStream({ every: '1m', by: 'symbol' })).subscribe((b) => out.push(b));
    input.next(batch([{ t: T0, sym: 'A', p: 1, s: 1 }]));
    input.next(batch([{ t: T0 + 61 * S, sym: 'C', p: 1, s: 1 }]));
    input.complete();
    const ids = out.map((b) => (b.data.schema.fields[0].type as { id: number }).id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(out.flatMap((b) => plain(b.data).map((r) => r.symbol))).toEqual(['A', 'C']);
  });

  it('emits record batches that work like constructor-built ones (Table, IPC, slice, getChild)', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input.pipe(resampleOhlcvStream({ every: '1m', by: 'symbol' })).subscribe((b) => out.push(b));
    input.next(batch([{ t: T0, sym: 'A', p: 1, s: 2 }]));
    input.next(batch([{ t: T0 + 61 * S, sym: 'C', p: 3, s: 1 }]));
    input.complete();
    const built = out.map((b) => b.data);
    const rebuilt = built.map((b) => new RecordBatch(b.schema, b.data));
    expect(built.every((b) => b instanceof RecordBatch)).toBe(true);
    expect(built.map((b) => [b.numRows, b.numCols, b.nullCount, b.metadata.size])).toEqual(
      rebuilt.map((b) => [b.numRows, b.numCols, b.nullCount, b.metadata.size]),
    );
    expect(built[0].dictionaries.size).toBe(1);
    const table = new Table(built);
    expect(plain(table)).toEqual(plain(new Table(rebuilt)));
    expect(plain(tableFromIPC(tableToIPC(table, 'stream')))).toEqual(plain(table));
    expect(plain(built[1].slice(0, 1))).toEqual(plain(rebuilt[1].slice(0, 1)));
    expect(built[0].getChild('close')?.toArray()).toEqual(new Float64Array([1]));
  });

  it('orders rows within the lateness by time, drops later ones and counts them', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    const stats: ResampleStreamStats = { lateDropped: 0, lateCorrected: 0, invalidRows: 0, barsEmitted: 0 };
    input
      .pipe(resampleOhlcvStream({ every: '1m', allowedLatenessMs: 5000, stats }))
      .subscribe((b) => out.push(b));
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }]));
    input.next(batch([{ t: T0 + 62 * S, sym: 'A', p: 5, s: 1 }]));
    input.next(batch([{ t: T0 + 58 * S, sym: 'A', p: 3, s: 1 }]));
    expect(out.every((b) => b.data.numRows === 0)).toBe(true);
    input.next(batch([{ t: T0 + 66 * S, sym: 'A', p: 6, s: 1 }]));
    const bars = out.flatMap((b) => plain(b.data));
    expect(bars.map((r) => [r.open, r.close, r.trades])).toEqual([[1, 3, 2]]);
    input.next(batch([{ t: T0 + 30 * S, sym: 'A', p: 9, s: 1 }]));
    expect(stats).toMatchObject({ lateDropped: 1, barsEmitted: 1 });
  });

  it('re-emits a corrected bar with a revision number', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input.pipe(resampleOhlcvStream({ every: '1m', late: 'correct' })).subscribe((b) => out.push(b));
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }]));
    input.next(batch([{ t: T0 + 61 * S, sym: 'A', p: 2, s: 1 }]));
    input.next(batch([{ t: T0 + 20 * S, sym: 'A', p: 4, s: 1 }]));
    const bars = out.flatMap((b) => plain(b.data));
    expect(bars.map((r) => [r.ts, r.high, r.close, r.trades, r.revision])).toEqual([
      [T0 / 1000, 1, 1, 1, 0],
      [T0 / 1000, 4, 4, 2, 1],
    ]);
  });

  it('corrects every overlapping window a late row falls in (period > every)', () => {
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    const stats: ResampleStreamStats = { lateDropped: 0, lateCorrected: 0, invalidRows: 0, barsEmitted: 0 };
    input
      .pipe(resampleOhlcvStream({ every: '1m', period: '2m', late: 'correct', stats }))
      .subscribe((b) => out.push(b));
    for (const sec of [10, 70, 130]) input.next(batch([{ t: T0 + sec * S, sym: 'A', p: sec, s: 1 }]));
    input.next(batch([{ t: T0 + 50 * S, sym: 'A', p: 50, s: 1 }]));
    const rows = out
      .flatMap((b) => plain(b.data))
      .map((r) => [((r.ts as number) - T0 / 1000) / 1000, r.trades, r.close, r.revision]);
    expect(rows).toEqual([
      [-60, 1, 10, 0],
      [0, 2, 70, 0],
      [-60, 2, 50, 1],
      [0, 3, 70, 1],
    ]);
    expect(stats.lateCorrected).toBe(1);
  });

  it('emits provisional bars on the interval, then the final bar', () => {
    const clock = virtualClock();
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input
      .pipe(resampleOhlcvStream({ every: '1m', provisional: { intervalMs: 1000 } }, clock))
      .subscribe((b) => out.push(b));
    const a = tracked();
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }], a.acks));
    clock.advance(1000);
    expect(out.map((b) => plain(b.data).map((r) => [r.close, r.final]))).toEqual([[[1, false]]]);
    expect(out[0].acks.size).toBe(0);
    clock.advance(2000);
    expect(out).toHaveLength(1);
    input.next(batch([{ t: T0 + 20 * S, sym: 'A', p: 2, s: 1 }]));
    clock.advance(3000);
    expect(plain(out[1].data).map((r) => [r.close, r.trades, r.final])).toEqual([[2, 2, false]]);
    input.next(batch([{ t: T0 + 60 * S, sym: 'A', p: 3, s: 1 }]));
    expect(plain(out[2].data).map((r) => [r.close, r.final])).toEqual([[2, true]]);
    out[2].acks.ack();
    expect(a.state()).toBe('acked');
  });

  it('closes the bars of a quiet stream after the idle timeout, then releases acks with a zero-row batch', () => {
    const clock = virtualClock();
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    input
      .pipe(resampleOhlcvStream({ every: '1m', idleTimeoutMs: 5000 }, clock))
      .subscribe((b) => out.push(b));
    input.next(batch([{ t: T0 + 10 * S, sym: 'A', p: 1, s: 1 }]));
    clock.advance(49_999);
    expect(out).toHaveLength(0);
    clock.advance(50_000);
    expect(out.map((b) => b.data.numRows)).toEqual([1]);
    const late = tracked();
    input.next(batch([{ t: T0 + 5 * S, sym: 'A', p: 1, s: 1 }], late.acks));
    expect(out.map((b) => b.data.numRows)).toEqual([1, 0]);
    out[1].acks.ack();
    expect(late.state()).toBe('acked');
  });

  it('nacks held acks when the input fails', () => {
    const input = new Subject<Batch>();
    const a = tracked();
    let error: unknown;
    input.pipe(resampleOhlcvStream({ every: '1m' })).subscribe({ error: (e) => (error = e) });
    input.next(batch([{ t: T0, sym: 'A', p: 1, s: 1 }], a.acks));
    input.error(new Error('socket closed'));
    expect(a.state()).toBe('nacked');
    expect(String(error)).toMatch(/socket closed/);
  });

  it('fails on a missing price column', () => {
    let error: unknown;
    const input = new Subject<Batch>();
    input.pipe(resampleOhlcvStream({ every: '1m', price: 'px' })).subscribe({ error: (e) => (error = e) });
    input.next(batch([{ t: T0, sym: 'A', p: 1, s: 1 }]));
    expect(String(error)).toMatch(/column "px" not found/);
  });
});
