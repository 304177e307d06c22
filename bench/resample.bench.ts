/**
 * resample: 1-minute OHLCV bars by symbol over 10M trades (8 symbols, one 6.5 h session, seeded,
 * time-ordered, timestamps in µs).
 *
 * Ours is the batch operator `resampleOhlcv` on the Arrow table, output building included (the
 * bars come back as an Arrow table). The table is first moved to shared memory with `shareTable`
 * (untimed, as Polars' load is), so the operator splits the rows over the worker pool, one worker
 * per core, as Polars uses every core; the same call on the unshared table (one thread) is
 * recorded beside it (`ours_one_thread_ms`). The peer is nodejs-polars `groupByDynamic({indexColumn: 'ts',
 * every: '1m', by: 'symbol'})` with first/max/min/last/sum/len aggregations on the same data
 * (loaded once from Arrow IPC, untimed), called two ways: on the time-ordered frame as a user
 * would (Polars needs the index sorted within each group, which time-ordered data already is) and
 * on a frame pre-sorted by (symbol, ts) with the sort untimed; `peer_value` is the faster.
 *
 * A second metric runs the batch operator on one thread and then the streaming operator (which is
 * single-threaded) over 10k-row batches (each sample times both, back to back) and reports stream
 * throughput / batch throughput (aim >= 0.8): the cost of streaming at equal resources. The ratio
 * against the parallel batch call is recorded beside it (`vs_parallel_batch`). Peak RSS is measured in child processes (bench/rss.ts) that build one side's input
 * from the same seed and run that side once, so neither side's data inflates the other's: ours
 * batch, ours streaming, and the Polars call with the faster median (`rss_polars.variant`).
 */
import type { Table } from 'apache-arrow';
import pl from 'nodejs-polars';
import { from, lastValueFrom, toArray } from 'rxjs';
import { seededRandom } from '../pipeline/retry.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from '../timeseries/arrow.ts';
import { shareTable } from '../timeseries/parallel/shared.ts';
import { resampleOhlcv } from '../timeseries/resample.ts';
import { resampleOhlcvStream } from '../timeseries/resample-stream.ts';
import { batchesOf, toPolars } from './data.ts';
import { type Benchmark, type MetricSpec, median, timeMs } from './harness.ts';
import { measureRss, rssChild } from './rss.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META', 'TSLA', 'AVGO'];
const T0 = 1_767_225_600_000_000;
const N = 10_000_000;
const SPAN_US = 6.5 * 3600e6;
const OPTS = { every: '1m', by: 'symbol' } as const;

/** `n` trades over about `spanUs`, time-ordered, random symbols, prices and sizes. */
function makeTrades(n: number, spanUs: number, seed: number): Table {
  const rnd = seededRandom(seed);
  const ts = new Float64Array(n);
  const sym = new Int32Array(n);
  const price = new Float64Array(n);
  const size = new Float64Array(n);
  const step = spanUs / n;
  let t = T0;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 2 * step);
    ts[i] = t;
    sym[i] = Math.floor(rnd() * SYMBOLS.length);
    price[i] = 100 + Math.floor(rnd() * 10000) / 100;
    size[i] = 1 + Math.floor(rnd() * 100);
  }
  return tableFromVectors({
    ts: timestampVector(ts),
    symbol: dictionaryVector(sym, SYMBOLS),
    price: float64Vector(price),
    size: float64Vector(size),
  });
}

function polarsBars(df: pl.DataFrame): pl.DataFrame {
  return df
    .groupByDynamic({ indexColumn: 'ts', every: '1m', by: 'symbol' } as any)
    .agg(
      pl.col('price').first().alias('open'),
      pl.col('price').max().alias('high'),
      pl.col('price').min().alias('low'),
      pl.col('price').last().alias('close'),
      pl.col('size').sum().alias('volume'),
      pl.len().alias('trades'),
    );
}

type PolarsVariant = 'time-ordered' | 'pre-sorted';

await rssChild(import.meta.url, {
  ours: () => {
    const trades = shareTable(makeTrades(N, SPAN_US, 7));
    resampleOhlcv(trades, OPTS);
    return () => resampleOhlcv(trades, OPTS);
  },
  'ours-stream': () => {
    const batches = batchesOf(makeTrades(N, SPAN_US, 7), 'trades', 10_000);
    return () => lastValueFrom(from(batches).pipe(resampleOhlcvStream(OPTS), toArray()));
  },
  'polars-time-ordered': () => {
    const df = toPolars(makeTrades(N, SPAN_US, 7));
    return () => polarsBars(df);
  },
  'polars-pre-sorted': () => {
    const df = toPolars(makeTrades(N, SPAN_US, 7)).sort(['symbol', 'ts']);
    return () => polarsBars(df);
  },
});

const bench: Benchmark = {
  id: 'resample',
  title: 'resample_ohlcv 1m by symbol (8), 10M time-ordered trades',
  aim: 'ratio <= 0.25 vs the faster nodejs-polars call; streaming >= 0.8 of batch throughput',
  run() {
    const trades = makeTrades(N, SPAN_US, 7);
    const shared = shareTable(trades);
    const df = toPolars(trades);
    const sorted = df.sort(['symbol', 'ts']);
    // Untimed warm-up of both (JIT, the worker pool, Polars' thread pool).
    resampleOhlcv(shared, OPTS);
    polarsBars(df);
    const oneThreadMs: number[] = [];
    const vsParallel: number[] = [];
    const parallelMs: number[] = [];
    const last = {
      timeOrdered: 0,
      presorted: 0,
      bars: 0,
      polarsBars: 0,
      streamRowsPerS: 0,
    };
    const polarsSamples: Record<PolarsVariant, number[]> = { 'time-ordered': [], 'pre-sorted': [] };
    const fasterPolars = (): PolarsVariant =>
      median(polarsSamples['pre-sorted']) < median(polarsSamples['time-ordered'])
        ? 'pre-sorted'
        : 'time-ordered';
    const specs: MetricSpec[] = [
      {
        name: 'resample_ohlcv 1m by symbol, 10M rows (Arrow in, Arrow out; shared input, worker pool)',
        unit: 'ms',
        better: 'lower',
        ours: async () => {
          let out: Table | undefined;
          const ms = await timeMs(() => {
            out = resampleOhlcv(shared, OPTS);
          });
          last.bars = out!.numRows;
          oneThreadMs.push(await timeMs(() => resampleOhlcv(trades, OPTS)));
          parallelMs.push(ms);
          return ms;
        },
        peer: {
          name: `nodejs-polars ${pl.version ?? '0.25.2'} groupByDynamic (faster of time-ordered / pre-sorted)`,
          run: async () => {
            let out: pl.DataFrame | undefined;
            last.timeOrdered = await timeMs(() => {
              out = polarsBars(df);
            });
            last.presorted = await timeMs(() => polarsBars(sorted));
            polarsSamples['time-ordered'].push(last.timeOrdered);
            polarsSamples['pre-sorted'].push(last.presorted);
            last.polarsBars = out!.height;
            return Math.min(last.timeOrdered, last.presorted);
          },
        },
        notes: () => ({
          ours_one_thread_ms: Math.round(median(oneThreadMs) * 10) / 10,
          bars: last.bars,
          polars_bars: last.polarsBars,
          polars_time_ordered_ms: Math.round(last.timeOrdered),
          polars_presorted_ms: Math.round(last.presorted),
          rss_ours: measureRss(import.meta.url, 'ours'),
          rss_polars: {
            variant: fasterPolars(),
            ...measureRss(import.meta.url, `polars-${fasterPolars()}`),
          },
        }),
      },
      {
        name: 'resample_ohlcv streaming, 10k-row batches, throughput relative to the batch operator on one thread',
        unit: 'x batch rows/s',
        better: 'higher',
        ours: async () => {
          const batches = batchesOf(trades, 'trades', 10_000);
          let bars = 0;
          const batchMs = await timeMs(() => resampleOhlcv(trades, OPTS));
          const ms = await timeMs(async () => {
            const out = await lastValueFrom(from(batches).pipe(resampleOhlcvStream(OPTS), toArray()));
            for (const b of out) bars += b.data.numRows;
          });
          if (bars !== last.bars) throw new Error(`streaming emitted ${bars} bars, batch ${last.bars}`);
          last.streamRowsPerS = N / (ms / 1000);
          vsParallel.push(median(parallelMs) / ms);
          return batchMs / ms;
        },
        notes: () => ({
          batch: 'one thread (unshared input), timed just before each streaming run',
          vs_parallel_batch: Math.round(median(vsParallel) * 1000) / 1000,
          stream_rows_per_s: Math.round(last.streamRowsPerS),
          rss_ours_stream: measureRss(import.meta.url, 'ours-stream'),
        }),
      },
    ];
    return specs;
  },
};

export default bench;
