/**
 * `rolling`: 10M trades over 8 symbols (seeded), rolling mean and standard deviation of the price
 * over 1-second time windows per symbol.
 *
 * Ours: the batch operator `rolling()` on an Arrow table, output columns built, splitting the
 * symbols over one thread per core as Polars uses every core: the table is first moved to shared
 * memory with `shareTable` (untimed, as Polars' load is), so the worker pool can read it. Peer:
 * nodejs-polars
 * `group_by_rolling(index_column=ts, period=1s, by=symbol).agg(mean, std)`, run on the trades in
 * time order (as a user calls it) and pre-sorted by (symbol, ts) (sort untimed), with the symbol
 * as String and as Categorical; the peer value of a run is the fastest of the four.
 * Second metric: the streaming operator (single-threaded) over 10k-row batches against the batch
 * operator on one thread, on the table as built (rows/s; aim: ratio >= 0.8): the cost of streaming
 * at equal resources. Recorded beside it: the one-thread batch call's median time in those rounds
 * (`batch_one_thread_ms`) and the ratio against the parallel batch call (`vs_parallel_batch`).
 * Peak RSS is measured in child processes (bench/rss.ts) that build one side's input from the same
 * seed and run that side once, so neither side's data inflates the other's: ours batch (shared
 * input, on the pool), ours streaming, and the Polars variant with the fastest median
 * (`rss_polars.variant`).
 */
import type { RecordBatch, Table } from 'apache-arrow';
import pl from 'nodejs-polars';
import { from } from 'rxjs';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch } from '../pipeline/types.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from '../timeseries/arrow.ts';
import { setParallelism } from '../timeseries/parallel/pool.ts';
import { shareTable } from '../timeseries/parallel/shared.ts';
import { type RollingOptions, rolling, rollingStream } from '../timeseries/rolling.ts';
import { type Benchmark, type MetricSpec, median, timeMs } from './harness.ts';
import { measureRss, rssChild } from './rss.ts';

const ROWS = 10_000_000;
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD', 'ADA-USD', 'DOGE-USD', 'AVAX-USD', 'DOT-USD'];
const BATCH_ROWS = 10_000;

const OPTS: RollingOptions = {
  ts: 'ts',
  by: 'symbol',
  period: '1s',
  aggs: [
    { agg: 'mean', column: 'price' },
    { agg: 'std', column: 'price' },
  ],
};

interface Trades {
  ts: Float64Array;
  codes: Int32Array;
  price: Float64Array;
  size: Float64Array;
}

/** Seeded trades in time order: about 1000 trades a second over 8 symbols, geometric random walks. */
function trades(n: number, seed: number): Trades {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 4294967296;
  };
  const ts = new Float64Array(n);
  const codes = new Int32Array(n);
  const price = new Float64Array(n);
  const size = new Float64Array(n);
  const level = SYMBOLS.map((_, k) => 100 * (k + 1));
  let t = Date.UTC(2024, 0, 2, 14, 30) * 1000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 2000);
    const k = Math.floor(rnd() * SYMBOLS.length);
    level[k] *= 1 + (rnd() - 0.5) * 2e-4;
    ts[i] = t;
    codes[i] = k;
    price[i] = Math.round(level[k] * 100) / 100;
    size[i] = 1 + Math.floor(rnd() * 100);
  }
  return { ts, codes, price, size };
}

function arrowTable(d: Trades): Table {
  return tableFromVectors({
    ts: timestampVector(d.ts),
    symbol: dictionaryVector(d.codes, SYMBOLS),
    price: float64Vector(d.price),
    size: float64Vector(d.size),
  });
}

function polarsBase(d: Trades): pl.DataFrame {
  return pl.DataFrame({
    ts: pl.Series('ts', d.ts).cast(pl.Int64).cast(pl.Datetime('us')),
    symbol: pl.Series(
      'symbol',
      Array.from(d.codes, (c) => SYMBOLS[c]),
    ),
    price: pl.Series('price', d.price),
    size: pl.Series('size', d.size),
  });
}

const categorical = (df: pl.DataFrame) => df.withColumns(pl.col('symbol').cast(pl.Categorical));
const presorted = (df: pl.DataFrame) => df.sort(['symbol', 'ts']);

function polarsFrames(d: Trades) {
  const base = polarsBase(d);
  const cat = categorical(base);
  return {
    'time-ordered, String symbol': base,
    'pre-sorted, String symbol': presorted(base),
    'time-ordered, Categorical symbol': cat,
    'pre-sorted, Categorical symbol': presorted(cat),
  };
}
type PolarsVariant = keyof ReturnType<typeof polarsFrames>;
const POLARS_VARIANTS: PolarsVariant[] = [
  'time-ordered, String symbol',
  'pre-sorted, String symbol',
  'time-ordered, Categorical symbol',
  'pre-sorted, Categorical symbol',
];

/** One variant of the Polars frame alone (for its RSS child; the sort is part of the input). */
function polarsFrame(d: Trades, variant: PolarsVariant): pl.DataFrame {
  const base = polarsBase(d);
  const df = variant.endsWith('Categorical symbol') ? categorical(base) : base;
  return variant.startsWith('pre-sorted') ? presorted(df) : df;
}

function polarsRolling(df: pl.DataFrame): number {
  const out = df
    .groupByRolling({ indexColumn: 'ts', period: '1s', by: 'symbol' })
    .agg(pl.col('price').mean().alias('price_mean_1s'), pl.col('price').std().alias('price_std_1s'));
  return out.height;
}

function streamOnce(batches: readonly RecordBatch[]): number {
  let rows = 0;
  const acks = new AckSet();
  from(batches.map((data): Batch => ({ stream: 'trades', data, acks })))
    .pipe(rollingStream(OPTS))
    .subscribe((b) => {
      rows += b.data.numRows;
    });
  return rows;
}

const SEED = 20240102;

await rssChild(import.meta.url, {
  ours: () => {
    const table = shareTable(arrowTable(trades(ROWS, SEED)));
    return () => rolling(table, OPTS);
  },
  'ours-stream': () => {
    const batches = splitBatches(arrowTable(trades(ROWS, SEED)));
    return () => streamOnce(batches);
  },
  ...Object.fromEntries(
    POLARS_VARIANTS.map((v) => [
      `polars:${v}`,
      () => {
        const df = polarsFrame(trades(ROWS, SEED), v);
        return () => polarsRolling(df);
      },
    ]),
  ),
});

const bench: Benchmark = {
  id: 'rolling',
  title: 'rolling mean + std over 1s windows by symbol, 10M trades, 8 symbols',
  aim: 'ratio <= 0.5 vs the faster nodejs-polars variant; streaming (10k-row batches) >= 0.8 of the batch operator on one thread',
  run() {
    const data = trades(ROWS, SEED);
    const table = arrowTable(data);
    const shared = shareTable(table);
    const frames = polarsFrames(data);
    const peerSamples = {} as Record<PolarsVariant, number[]>;
    for (const v of POLARS_VARIANTS) peerSamples[v] = [];
    const fastestPolars = (): PolarsVariant =>
      POLARS_VARIANTS.reduce((a, b) => (median(peerSamples[b]) < median(peerSamples[a]) ? b : a));
    const batches = splitBatches(table);
    /** The batch operator on one thread, by default on the stream's input (the table as built). */
    const oneThread = (t: Table = table) => {
      setParallelism(1);
      try {
        return rolling(t, OPTS);
      } finally {
        setParallelism(undefined);
      }
    };
    // Untimed warm-up of every measured path (JIT, the worker pool, first-call setup): the
    // streaming and one-thread paths and Polars on the first 200k rows, the pool on all rows.
    const warm = table.slice(0, 200_000);
    rolling(shared, OPTS);
    oneThread(warm);
    streamOnce(splitBatches(warm));
    for (const df of Object.values(frames)) polarsRolling(df.head(200_000));
    const parallelMs: number[] = [];
    const vsParallel: number[] = [];
    let streamRows = 0;
    const oneThreadMs: number[] = [];
    const specs: MetricSpec[] = [
      {
        name: 'rolling mean+std 1s by symbol, 10M trades (batch operator, Arrow in/out, one thread per core)',
        unit: 'ms',
        better: 'lower',
        ours: async () => {
          const ms = await timeMs(() => {
            const out = rolling(shared, OPTS);
            if (out.numRows !== ROWS) throw new Error('rolling produced the wrong row count');
          });
          parallelMs.push(ms);
          return ms;
        },
        peer: {
          name: 'nodejs-polars 0.25.2 group_by_rolling (fastest of 4 variants)',
          run: async () => {
            let best = Number.POSITIVE_INFINITY;
            for (const [name, df] of Object.entries(frames) as [PolarsVariant, pl.DataFrame][]) {
              const ms = await timeMs(() => {
                if (polarsRolling(df) !== ROWS) throw new Error('polars produced the wrong row count');
              });
              peerSamples[name].push(ms);
              best = Math.min(best, ms);
            }
            return best;
          },
        },
        notes: () => ({
          polars_variant_medians_ms: Object.fromEntries(
            Object.entries(peerSamples).map(([k, v]) => [k, Math.round(median(v))]),
          ),
          rows: ROWS,
          symbols: SYMBOLS.length,
          rss_ours: measureRss(import.meta.url, 'ours'),
          rss_polars: {
            variant: fastestPolars(),
            ...measureRss(import.meta.url, `polars:${fastestPolars()}`),
          },
        }),
      },
      {
        name: 'rolling mean+std 1s by symbol, streaming over 10k-row batches vs the batch operator on one thread',
        unit: 'rows/s',
        better: 'higher',
        ours: async () => {
          const ms = await timeMs(() => {
            streamRows = streamOnce(batches);
          });
          if (streamRows !== ROWS) throw new Error('streaming produced the wrong row count');
          if (parallelMs.length) vsParallel.push(median(parallelMs) / ms);
          return (ROWS / ms) * 1000;
        },
        peer: {
          name: 'polaroid batch operator, one thread',
          run: async () => {
            const ms = await timeMs(() => oneThread());
            oneThreadMs.push(ms);
            return (ROWS / ms) * 1000;
          },
        },
        notes: () => ({
          batch_one_thread_ms: Math.round(median(oneThreadMs) * 10) / 10,
          vs_parallel_batch: Math.round(median(vsParallel) * 1000) / 1000,
          batch_rows: BATCH_ROWS,
          batches: batches.length,
          rss_ours_stream: measureRss(import.meta.url, 'ours-stream'),
        }),
      },
    ];
    return specs;
  },
};

/** The table as 10k-row record batches (zero-copy slices), as the micro-batcher would emit them. */
function splitBatches(t: Table): RecordBatch[] {
  const out: RecordBatch[] = [];
  for (let lo = 0; lo < t.numRows; lo += BATCH_ROWS) out.push(...t.slice(lo, lo + BATCH_ROWS).batches);
  return out;
}

export default bench;
