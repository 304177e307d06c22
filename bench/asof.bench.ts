/**
 * asof: trades × quotes as-of join by symbol with a 1 s tolerance, backward.
 *
 * 10M trades and 5M quotes over 8 symbols, seeded, time-ordered, timestamps in µs. Ours is the
 * batch operator `asofJoin` on Arrow tables, output building included (the quote columns are
 * written into new Arrow vectors with validity), splitting the trades over one thread per core as
 * Polars uses every core: with the native kernels (`kernel` in the notes, built by npm install)
 * on threads of the native merge; else over the worker pool, for which both tables are first moved
 * to shared memory with `shareTable` (untimed, as Polars' load is; the native path reads them as
 * well). Recorded beside it, from 3 runs after the samples: the same call with the TypeScript
 * kernels over the pool (`ours_typescript_ms`). The peer
 * is nodejs-polars `joinAsof` on the same data (loaded once from Arrow IPC, untimed), called two
 * ways: on the time-ordered frames as a user would, and on frames pre-sorted by (symbol, ts) with
 * the sort untimed; `peer_value` is the faster.
 * A second metric runs the streaming operator (single-threaded) over 10k-row batches of both sides,
 * arriving in event-time order, and compares its throughput with the batch operator's on one
 * thread (aim: ratio >= 0.8): the cost of streaming at equal resources. Recorded beside it: the
 * one-thread batch call's median time in those rounds (`batch_one_thread_ms`; back-to-back runs
 * after the samples gave 160-510 ms for it, each paying for the last one's garbage) and the ratio
 * against the parallel batch call (`vs_parallel_batch`).
 * Peak RSS is measured in child processes (bench/rss.ts) that build one side's input from the same
 * seeds and run that side once, so neither side's data inflates the other's: ours batch, ours
 * streaming, and the Polars call with the faster median (`rss_polars.variant`).
 */
import type { Table } from 'apache-arrow';
import { Subject } from 'rxjs';
import { seededRandom } from '../pipeline/retry.ts';
import type { Batch } from '../pipeline/types.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from '../timeseries/arrow.ts';
import { asofJoin } from '../timeseries/asof.ts';
import { type AsofStreamStats, asofJoinStream, newAsofStreamStats } from '../timeseries/asof-stream.ts';
import { nativeStatus, setNativeEnabled } from '../timeseries/kernels/native.ts';
import { setParallelism } from '../timeseries/parallel/pool.ts';
import { shareTable } from '../timeseries/parallel/shared.ts';
import { batchesOf, toPolars } from './data.ts';
import { type Benchmark, type MetricSpec, median, timeMs } from './harness.ts';
import { measureRss, rssChild } from './rss.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META', 'TSLA', 'AVGO'];
const T0 = 1_767_225_600_000_000;

/** `n` rows over about `spanUs` µs, time-ordered, random symbols and prices. */
function makeTable(n: number, spanUs: number, seed: number, cols: readonly string[]): Table {
  const rnd = seededRandom(seed);
  const ts = new Float64Array(n);
  const sym = new Int32Array(n);
  const step = spanUs / n;
  let t = T0;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 2 * step);
    ts[i] = t;
    sym[i] = Math.floor(rnd() * SYMBOLS.length);
  }
  const vectors: Record<string, any> = { ts: timestampVector(ts), symbol: dictionaryVector(sym, SYMBOLS) };
  for (const c of cols) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = 100 + Math.floor(rnd() * 10000) / 100;
    vectors[c] = float64Vector(v);
  }
  return tableFromVectors(vectors);
}

const N_TRADES = 10_000_000;
const N_QUOTES = 5_000_000;
const SPAN_US = 6.5 * 3600e6;
const OPTS = { on: 'ts', by: 'symbol', tolerance: '1s', strategy: 'backward' } as const;
const PL_OPTS = { on: 'ts', by: 'symbol', tolerance: '1s', strategy: 'backward' as const };

const makeTrades = () => makeTable(N_TRADES, SPAN_US, 7, ['price', 'size']);
const makeQuotes = () => makeTable(N_QUOTES, SPAN_US, 11, ['bid', 'ask']);

/** The streaming join over both sides' batches, arriving in event-time order; returns rows out. */
function streamJoin(left: Batch[], right: Batch[], quotes: Table, stats: AsofStreamStats): number {
  let rows = 0;
  const first = (b: Batch) => Number(b.data.getChild('ts')!.get(0));
  const l$ = new Subject<Batch>();
  const r$ = new Subject<Batch>();
  l$.pipe(asofJoinStream(r$, { ...OPTS, right_schema: quotes.schema, stats })).subscribe((b) => {
    rows += b.data.numRows;
  });
  // Arrival in event-time order, as from live feeds: the batch that starts earlier first.
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length || (i < left.length && first(left[i]) < first(right[j]))) l$.next(left[i++]);
    else r$.next(right[j++]);
  }
  r$.complete();
  l$.complete();
  return rows;
}

type PolarsVariant = 'time-ordered' | 'pre-sorted';

/** Which kernels ran: `native`, or `typescript (<why the native ones did not>)`. */
function kernelNote(): string {
  const s = nativeStatus();
  return s.loaded ? 'native' : `typescript (${s.reason})`;
}

await rssChild(import.meta.url, {
  ours: () => {
    const trades = shareTable(makeTrades());
    const quotes = shareTable(makeQuotes());
    asofJoin(trades, quotes, OPTS);
    return () => asofJoin(trades, quotes, OPTS);
  },
  'ours-stream': () => {
    const quotes = makeQuotes();
    const left = batchesOf(makeTrades(), 'trades', 10_000);
    const right = batchesOf(quotes, 'quotes', 10_000);
    return () => streamJoin(left, right, quotes, newAsofStreamStats());
  },
  'polars-time-ordered': () => {
    const trades = toPolars(makeTrades());
    const quotes = toPolars(makeQuotes());
    return () => trades.joinAsof(quotes, PL_OPTS);
  },
  'polars-pre-sorted': () => {
    const trades = toPolars(makeTrades()).sort(['symbol', 'ts']);
    const quotes = toPolars(makeQuotes()).sort(['symbol', 'ts']);
    return () => trades.joinAsof(quotes, PL_OPTS);
  },
});

const bench: Benchmark = {
  id: 'asof',
  title: 'as-of join, 10M trades x 5M quotes, by symbol (8), tolerance 1s, backward',
  aim: 'ratio <= 0.25 vs the faster nodejs-polars call; streaming >= 0.8 of batch throughput',
  run() {
    const trades = makeTrades();
    const quotes = makeQuotes();
    const plTrades = toPolars(trades);
    const plQuotes = toPolars(quotes);
    const sortedTrades = plTrades.sort(['symbol', 'ts']);
    const sortedQuotes = plQuotes.sort(['symbol', 'ts']);
    const sharedTrades = shareTable(trades);
    const sharedQuotes = shareTable(quotes);
    // Untimed warm-up of both (JIT, the worker pool, Polars' thread pool).
    asofJoin(sharedTrades, sharedQuotes, OPTS);
    plTrades.joinAsof(plQuotes, PL_OPTS);
    const parallelMs: number[] = [];
    const vsParallel: number[] = [];
    const polarsMs = { timeOrdered: [] as number[], presorted: [] as number[] };
    const fasterPolars = (): PolarsVariant =>
      median(polarsMs.presorted) < median(polarsMs.timeOrdered) ? 'pre-sorted' : 'time-ordered';
    const polars = async () => {
      const a = await timeMs(() => plTrades.joinAsof(plQuotes, PL_OPTS));
      const b = await timeMs(() => sortedTrades.joinAsof(sortedQuotes, PL_OPTS));
      polarsMs.timeOrdered.push(Math.round(a));
      polarsMs.presorted.push(Math.round(b));
      return Math.min(a, b);
    };
    const left = batchesOf(trades, 'trades', 10_000);
    const right = batchesOf(quotes, 'quotes', 10_000);
    // Untimed warm-up of the streaming join too, as the batch calls had one.
    streamJoin(left, right, quotes, newAsofStreamStats());
    const stats = newAsofStreamStats();
    const streaming = async () => {
      let rows = 0;
      const ms = await timeMs(() => {
        rows = streamJoin(left, right, quotes, stats);
      });
      if (rows !== N_TRADES) throw new Error(`streaming join emitted ${rows} rows, expected ${N_TRADES}`);
      if (parallelMs.length) vsParallel.push(median(parallelMs) / ms);
      return N_TRADES / (ms / 1000);
    };
    /**
     * `fn` timed `n` times. For the figures noted beside a metric, run after its samples, not
     * between them: a third join inside each round left its 160 MB of garbage to the next
     * measurement.
     */
    const runs = (n: number, fn: () => unknown): number[] =>
      Array.from({ length: n }, () => {
        const t0 = performance.now();
        fn();
        return performance.now() - t0;
      });
    /** The batch join with the TypeScript kernels, over the worker pool. */
    const typescript = () => {
      setNativeEnabled(false);
      try {
        asofJoin(sharedTrades, sharedQuotes, OPTS);
      } finally {
        setNativeEnabled(undefined);
      }
    };
    /** The batch join on one thread; returns its matched rows. */
    const oneThreadJoin = (): number => {
      setParallelism(1);
      try {
        const out = asofJoin(trades, quotes, OPTS);
        return out.numRows - out.getChild('bid')!.nullCount;
      } finally {
        setParallelism(undefined);
      }
    };
    const matched = oneThreadJoin();
    const oneThreadMs: number[] = [];
    const oneThread = async () => {
      const ms = await timeMs(oneThreadJoin);
      oneThreadMs.push(ms);
      return ms;
    };
    const batch = async () => {
      let out: Table | undefined;
      const ms = await timeMs(() => {
        out = asofJoin(sharedTrades, sharedQuotes, OPTS);
      });
      const m = out!.numRows - out!.getChild('bid')!.nullCount;
      if (m !== matched) throw new Error(`parallel join matched ${m} rows, one thread ${matched}`);
      parallelMs.push(ms);
      return ms;
    };
    const specs: MetricSpec[] = [
      {
        name: 'asof_join by symbol, 10M trades x 5M quotes, tolerance 1s (output built, one thread per core)',
        unit: 'ms',
        better: 'lower',
        ours: batch,
        peer: {
          name: 'nodejs-polars 0.25.2 joinAsof (faster of time-ordered / pre-sorted by symbol, ts)',
          run: polars,
        },
        notes: () => ({
          kernel: kernelNote(),
          ours_typescript_ms: Math.round(median(runs(3, typescript)) * 10) / 10,
          matched_rows: matched,
          polars_time_ordered_ms: polarsMs.timeOrdered,
          polars_presorted_ms: polarsMs.presorted,
          rss_ours: measureRss(import.meta.url, 'ours'),
          rss_polars: {
            variant: fasterPolars(),
            ...measureRss(import.meta.url, `polars-${fasterPolars()}`),
          },
        }),
      },
      {
        name: 'asof_join streaming over 10k-row batches (event-time arrival) vs the batch operator on one thread',
        unit: 'rows/s',
        better: 'higher',
        ours: streaming,
        peer: {
          name: `asofJoin batch operator (ours), one thread, ${kernelNote()} kernel`,
          run: async () => N_TRADES / ((await oneThread()) / 1000),
        },
        notes: () => ({
          batch_one_thread_ms: Math.round(median(oneThreadMs) * 10) / 10,
          vs_parallel_batch: Math.round(median(vsParallel) * 1000) / 1000,
          rss_ours_stream: measureRss(import.meta.url, 'ours-stream'),
          late_right_rows: stats.lateRightRows,
          evicted_right_rows: stats.evictedRightRows,
        }),
      },
    ];
    return specs;
  },
};

export default bench;
