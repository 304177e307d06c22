import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../pipeline/retry.ts';
import {
  ResampleEngine,
  type ResampleKernelOptions,
  resampleKernel,
  UnsortedInputError,
} from './resample.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;
const S = 1e6;
const M = 60e6;
const us = (iso: string) => Date.parse(iso) * 1000;
const iso = (t: number) => new Date(t / 1000).toISOString();

interface Row {
  t: number;
  p: number;
  s?: number;
  k?: number;
}

interface Bar {
  key: number;
  start: number;
  end: number;
  o: number | null;
  h: number | null;
  l: number | null;
  c: number | null;
  v: number;
  vwap: number | null;
  n: number;
  first: number | null;
  last: number | null;
}

const nn = (x: number) => (Number.isNaN(x) ? null : x);

function run(rows: Row[], opts: ResampleKernelOptions, order: 'key_time' | 'time_key' = 'key_time'): Bar[] {
  const ts = new Float64Array(rows.map((r) => r.t));
  const keys = new Int32Array(rows.map((r) => r.k ?? 0));
  const price = new Float64Array(rows.map((r) => r.p));
  const size = new Float64Array(rows.map((r) => r.s ?? 1));
  const { bars, order: idx } = resampleKernel(ts, keys, price, size, opts, order);
  return Array.from(idx, (i) => ({
    key: bars.key[i],
    start: bars.start[i],
    end: bars.end[i],
    o: nn(bars.open[i]),
    h: nn(bars.high[i]),
    l: nn(bars.low[i]),
    c: nn(bars.close[i]),
    v: bars.volume[i],
    vwap: nn(bars.vwap[i]),
    n: bars.trades[i],
    first: nn(bars.firstTs[i]),
    last: nn(bars.lastTs[i]),
  }));
}

/** Window starts relative to T0, in seconds. */
const starts = (bars: Bar[]) => bars.map((b) => (b.start - T0) / S);

describe('resample kernel: aggregates', () => {
  it('computes open/high/low/close/volume/vwap/trades per window; equal times keep row order', () => {
    const bars = run(
      [
        { t: T0 + 5 * S, p: 10, s: 1 },
        { t: T0 + 20 * S, p: 12, s: 3 },
        { t: T0 + 20 * S, p: 9, s: 2 },
        { t: T0 + 20 * S, p: 11, s: 4 },
        { t: T0 + 61 * S, p: 20, s: 5 },
      ],
      { every: '1m' },
    );
    expect(bars).toEqual([
      {
        key: 0,
        start: T0,
        end: T0 + M,
        o: 10,
        h: 12,
        l: 9,
        c: 11,
        v: 10,
        vwap: (10 + 36 + 18 + 44) / 10,
        n: 4,
        first: T0 + 5 * S,
        last: T0 + 20 * S,
      },
      {
        key: 0,
        start: T0 + M,
        end: T0 + 2 * M,
        o: 20,
        h: 20,
        l: 20,
        c: 20,
        v: 5,
        vwap: 20,
        n: 1,
        first: T0 + 61 * S,
        last: T0 + 61 * S,
      },
    ]);
  });

  it('keeps keys apart and orders by key then time, or by time then key', () => {
    const rows = [
      { t: T0 + 1 * S, p: 1, k: 1 },
      { t: T0 + 2 * S, p: 2, k: 0 },
      { t: T0 + 70 * S, p: 3, k: 1 },
      { t: T0 + 80 * S, p: 4, k: 0 },
    ];
    expect(run(rows, { every: '1m' }).map((b) => [b.key, (b.start - T0) / S, b.o])).toEqual([
      [0, 0, 2],
      [0, 60, 4],
      [1, 0, 1],
      [1, 60, 3],
    ]);
    expect(run(rows, { every: '1m' }, 'time_key').map((b) => [b.key, (b.start - T0) / S])).toEqual([
      [0, 0],
      [1, 0],
      [0, 60],
      [1, 60],
    ]);
  });

  it('ignores rows with a null price or time; a null size is a trade without volume', () => {
    const bars = run(
      [
        { t: T0 + 1 * S, p: Number.NaN, s: 100 },
        { t: T0 + 2 * S, p: 10, s: Number.NaN },
        { t: Number.NaN, p: 99, s: 1 },
        { t: T0 + 3 * S, p: 12, s: 2 },
        { t: T0 + 70 * S, p: 5, s: Number.NaN },
      ],
      { every: '1m' },
    );
    expect(bars.map((b) => [b.o, b.h, b.l, b.c, b.v, b.vwap, b.n])).toEqual([
      [10, 12, 10, 12, 2, 12, 2],
      [5, 5, 5, 5, 0, null, 1],
    ]);
  });

  it('names the row and times when a key is not sorted', () => {
    const ts = new Float64Array([T0 + 10 * S, T0 + 5 * S, T0 + 3 * S]);
    const keys = new Int32Array([0, 1, 0]);
    const p = new Float64Array([1, 2, 3]);
    try {
      resampleKernel(ts, keys, p, p, { every: '1m' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnsortedInputError);
      expect(e).toMatchObject({
        row: 2,
        key: 0,
        time: T0 + 3 * S,
        previous: T0 + 10 * S,
        code: 'RESAMPLE_UNSORTED',
      });
    }
    expect(() => resampleKernel(ts, keys, p, p, { every: '1m', period: '2m' })).toThrow(UnsortedInputError);
  });
});

describe('resample kernel: windows', () => {
  // Rows on and between minute boundaries: 0s, 60s, 61s, 120s, 300s.
  const rows = [0, 60, 61, 120, 300].map((x, i) => ({ t: T0 + x * S, p: i + 1 }));

  it('closed left (default): [start, end)', () => {
    const bars = run(rows, { every: '1m' });
    expect(starts(bars)).toEqual([0, 60, 120, 300]);
    expect(bars.map((b) => b.n)).toEqual([1, 2, 1, 1]);
  });

  it('closed right: (start, end], a row on a boundary closes the previous window', () => {
    const bars = run(rows, { every: '1m', closed: 'right' });
    expect(starts(bars)).toEqual([-60, 0, 60, 240]);
    expect(bars.map((b) => [b.o, b.c])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
      [5, 5],
    ]);
  });

  it('closed both puts boundary rows in two windows; none in neither', () => {
    expect(run(rows, { every: '1m', closed: 'both' }).map((b) => [(b.start - T0) / S, b.n])).toEqual([
      [-60, 1],
      [0, 2],
      [60, 3],
      [120, 1],
      [240, 1],
      [300, 1],
    ]);
    expect(run(rows, { every: '1m', closed: 'none' }).map((b) => [(b.start - T0) / S, b.n])).toEqual([
      [60, 1],
    ]);
  });

  it('label right stamps the window end', () => {
    const bars = run(rows, { every: '1m', label: 'right' });
    expect(bars.map((b) => (b.end - T0) / S)).toEqual([60, 120, 180, 360]);
  });

  it('offset shifts the grid', () => {
    expect(starts(run(rows, { every: '1m', offset: '10s' }))).toEqual([-50, 10, 70, 250]);
    expect(starts(run(rows, { every: '2m', offset: '-30s' }))).toEqual([-30, 90, 210]);
  });

  it('period > every gives overlapping windows (a row in several bars)', () => {
    const bars = run(rows, { every: '1m', period: '2m' });
    expect(bars.map((b) => [(b.start - T0) / S, b.n, b.o, b.c])).toEqual([
      [-60, 1, 1, 1],
      [0, 3, 1, 3],
      [60, 3, 2, 4],
      [120, 1, 4, 4],
      [240, 1, 5, 5],
      [300, 1, 5, 5],
    ]);
  });

  it('period < every leaves gaps between windows', () => {
    const bars = run(rows, { every: '1m', period: '30s' });
    expect(bars.map((b) => [(b.start - T0) / S, b.n])).toEqual([
      [0, 1],
      [60, 2],
      [120, 1],
      [300, 1],
    ]);
    expect(run([{ t: T0 + 45 * S, p: 1 }], { every: '1m', period: '30s' })).toEqual([]);
  });

  it('first_observation starts the grid at the first row', () => {
    const bars = run(
      [7, 30, 67, 130].map((x) => ({ t: T0 + x * S, p: x })),
      { every: '1m', align: 'first_observation', offset: '5s' },
    );
    expect(starts(bars)).toEqual([7, 67, 127]);
  });
});

describe('resample kernel: fill', () => {
  // Bars at minute 0 (o 10 h 12 l 9 c 11) and minute 3 (o 20 h 26 l 20 c 23); minutes 1, 2 empty.
  const rows = [
    { t: T0 + 1 * S, p: 10, s: 1 },
    { t: T0 + 2 * S, p: 12, s: 1 },
    { t: T0 + 3 * S, p: 9, s: 1 },
    { t: T0 + 4 * S, p: 11, s: 1 },
    { t: T0 + 181 * S, p: 20, s: 2 },
    { t: T0 + 182 * S, p: 26, s: 2 },
    { t: T0 + 183 * S, p: 23, s: 2 },
  ];
  const filled = (fill: ResampleKernelOptions['fill']) =>
    run(rows, { every: '1m', fill })
      .filter((b) => b.n === 0)
      .map((b) => [(b.start - T0) / S, b.o, b.h, b.l, b.c, b.vwap, b.v, b.first]);

  it('none emits only windows with trades', () => {
    expect(starts(run(rows, { every: '1m' }))).toEqual([0, 180]);
    expect(filled('none')).toEqual([]);
  });

  it('null: null prices, zero volume and trades', () => {
    expect(filled('null')).toEqual([
      [60, null, null, null, null, null, 0, null],
      [120, null, null, null, null, null, 0, null],
    ]);
  });

  it('prev repeats each price aggregate of the previous bar', () => {
    expect(filled('prev')).toEqual([
      [60, 10, 12, 9, 11, 10.5, 0, null],
      [120, 10, 12, 9, 11, 10.5, 0, null],
    ]);
  });

  it('linear interpolates each price aggregate by window start', () => {
    // vwap: 10.5 → (40 + 52 + 46) / 6 = 23.
    const round = (rows: (number | null)[][]) =>
      rows.map((r) => r.map((x) => (x === null ? null : Math.round(x * 1e9) / 1e9)));
    expect(round(filled('linear'))).toEqual(
      round([
        [60, 40 / 3, 50 / 3, 38 / 3, 15, 10.5 + 12.5 / 3, 0, null],
        [120, 50 / 3, 64 / 3, 49 / 3, 19, 10.5 + 25 / 3, 0, null],
      ]),
    );
  });

  it('a constant fills every price aggregate', () => {
    expect(filled(0)).toEqual([
      [60, 0, 0, 0, 0, 0, 0, null],
      [120, 0, 0, 0, 0, 0, 0, null],
    ]);
  });

  it('fills only between each key’s first and last bar', () => {
    const bars = run(
      [
        { t: T0, p: 1, k: 0 },
        { t: T0 + 2 * M, p: 2, k: 1 },
        { t: T0 + 3 * M, p: 3, k: 0 },
      ],
      { every: '1m', fill: 'prev' },
    );
    expect(bars.map((b) => [b.key, (b.start - T0) / M, b.n])).toEqual([
      [0, 0, 1],
      [0, 1, 0],
      [0, 2, 0],
      [0, 3, 1],
      [1, 2, 1],
    ]);
  });
});

describe('resample kernel: calendars and DST', () => {
  const day = (rows: [string, number][], opts: ResampleKernelOptions) =>
    run(
      rows.map(([t, p]) => ({ t: us(t), p })),
      opts,
    ).map((b) => [iso(b.start), iso(b.end), b.o, b.c, b.n]);

  it('1h in New York: fall-back repeats 01:00 local as two UTC bars, spring-forward skips 02:00', () => {
    const ny = { every: '1h', timeZone: 'America/New_York', fill: 'null' as const };
    expect(
      day(
        [
          ['2024-11-03T05:30:00Z', 1], // 01:30 EDT
          ['2024-11-03T06:30:00Z', 2], // 01:30 EST
        ],
        ny,
      ),
    ).toEqual([
      ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z', 1, 1, 1],
      ['2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z', 2, 2, 1],
    ]);
    expect(
      day(
        [
          ['2024-03-10T06:30:00Z', 1], // 01:30 EST
          ['2024-03-10T07:30:00Z', 2], // 03:30 EDT
        ],
        ny,
      ),
    ).toEqual([
      ['2024-03-10T06:00:00.000Z', '2024-03-10T07:00:00.000Z', 1, 1, 1],
      ['2024-03-10T07:00:00.000Z', '2024-03-10T08:00:00.000Z', 2, 2, 1],
    ]);
  });

  it('1h in London across both transitions', () => {
    expect(
      day(
        [
          ['2024-03-31T00:30:00Z', 1], // 00:30 GMT
          ['2024-03-31T01:30:00Z', 2], // 02:30 BST
          ['2024-10-27T00:30:00Z', 3], // 01:30 BST
          ['2024-10-27T01:30:00Z', 4], // 01:30 GMT
        ],
        { every: '1h', timeZone: 'Europe/London' },
      ).map((b) => b[0]),
    ).toEqual([
      '2024-03-31T00:00:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-10-27T00:00:00.000Z',
      '2024-10-27T01:00:00.000Z',
    ]);
  });

  it('1d in New York: the 23 h and 25 h days each make one bar', () => {
    expect(
      day(
        [
          ['2024-03-10T04:59:00Z', 1], // Mar 9, 23:59 EST
          ['2024-03-10T05:00:00Z', 2], // Mar 10, 00:00 EST
          ['2024-03-11T03:59:00Z', 3], // Mar 10, 23:59 EDT
          ['2024-03-11T04:00:00Z', 4], // Mar 11, 00:00 EDT
          ['2024-11-03T04:00:00Z', 5], // Nov 3, 00:00 EDT
          ['2024-11-04T04:30:00Z', 6], // Nov 3, 23:30 EST
        ],
        { every: '1d', timeZone: 'America/New_York', label: 'right' },
      ),
    ).toEqual([
      ['2024-03-09T05:00:00.000Z', '2024-03-10T05:00:00.000Z', 1, 1, 1],
      ['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z', 2, 3, 2],
      ['2024-03-11T04:00:00.000Z', '2024-03-12T04:00:00.000Z', 4, 4, 1],
      ['2024-11-03T04:00:00.000Z', '2024-11-04T05:00:00.000Z', 5, 6, 2],
    ]);
  });

  it('1d in London with fill: one filled bar per empty local day', () => {
    const bars = day(
      [
        ['2024-10-26T12:00:00Z', 1],
        ['2024-10-28T12:00:00Z', 2],
      ],
      { every: '1d', timeZone: 'Europe/London', fill: 'prev' },
    );
    expect(bars).toEqual([
      ['2024-10-25T23:00:00.000Z', '2024-10-26T23:00:00.000Z', 1, 1, 1],
      ['2024-10-26T23:00:00.000Z', '2024-10-28T00:00:00.000Z', 1, 1, 0],
      ['2024-10-28T00:00:00.000Z', '2024-10-29T00:00:00.000Z', 2, 2, 1],
    ]);
  });

  it('1w uses Monday weeks and 1mo calendar months', () => {
    expect(
      day(
        [
          ['2024-01-07T23:00:00Z', 1], // Sunday
          ['2024-01-08T00:00:00Z', 2], // Monday
        ],
        { every: '1w' },
      ).map((b) => b[0]),
    ).toEqual(['2024-01-01T00:00:00.000Z', '2024-01-08T00:00:00.000Z']);
    expect(
      day(
        [
          ['2024-01-31T23:00:00Z', 1],
          ['2024-02-29T23:00:00Z', 2],
          ['2024-03-01T05:00:00Z', 3],
        ],
        { every: '1mo', timeZone: 'America/New_York' },
      ),
    ).toEqual([
      ['2024-01-01T05:00:00.000Z', '2024-02-01T05:00:00.000Z', 1, 1, 1],
      ['2024-02-01T05:00:00.000Z', '2024-03-01T05:00:00.000Z', 2, 2, 1],
      ['2024-03-01T05:00:00.000Z', '2024-04-01T04:00:00.000Z', 3, 3, 1],
    ]);
  });
});

describe('resample engine: stream mode', () => {
  const col = (xs: number[]) => new Float64Array(xs);

  it('emits a bar when the watermark reaches its end and drops later rows into it', () => {
    const e = new ResampleEngine({ every: '1m', mode: 'stream' });
    e.push(col([T0 + 10 * S, T0 + 50 * S]), undefined, col([1, 2]), col([1, 1]));
    e.advance(T0 + 50 * S);
    expect(e.out.length).toBe(0);
    e.push(col([T0 + 60 * S]), undefined, col([3]), col([1]));
    e.advance(T0 + 60 * S);
    expect(e.out.length).toBe(1);
    expect([e.out.open[0], e.out.close[0], e.out.final[0]]).toEqual([1, 2, 1]);
    e.push(col([T0 + 59 * S]), undefined, col([9]), col([1]));
    expect(e.lateDropped).toBe(1);
  });

  it('corrects a closed bar with the next revision, within the horizon only', () => {
    const e = new ResampleEngine({
      every: '1m',
      mode: 'stream',
      late: 'correct',
      correctionHorizonUs: 2 * M,
    });
    e.push(col([T0 + 10 * S, T0 + 70 * S]), undefined, col([5, 6]), col([1, 1]));
    e.advance(T0 + 70 * S);
    e.out.clear();
    e.push(col([T0 + 5 * S, T0 + 30 * S]), undefined, col([4, 8]), col([1, 1]));
    expect(e.lateCorrected).toBe(2);
    expect(Array.from(e.out.revision.subarray(0, 2))).toEqual([1, 2]);
    expect([e.out.open[1], e.out.high[1], e.out.close[1], e.out.trades[1]]).toEqual([4, 8, 8, 3]);
    e.out.clear();
    e.push(col([T0 + 400 * S]), undefined, col([1]), col([1]));
    e.advance(T0 + 400 * S);
    e.out.clear();
    e.push(col([T0 + 20 * S]), undefined, col([1]), col([1]));
    expect(e.lateDropped).toBe(1);
    expect(e.out.length).toBe(0);
  });

  /** A stream engine with corrections; `feed` pushes rows (`[second, price]`, key 0) then advances. */
  const correcting = (fill: ResampleKernelOptions['fill']) => {
    const e = new ResampleEngine({
      every: '1m',
      mode: 'stream',
      late: 'correct',
      correctionHorizonUs: 60 * M,
      fill,
    });
    const feed = (rows: [number, number][]) => {
      e.out.clear();
      e.push(
        col(rows.map(([sec]) => T0 + sec * S)),
        undefined,
        col(rows.map(([, p]) => p)),
        col(rows.map(() => 1)),
      );
      e.advance(T0 + Math.max(...rows.map(([sec]) => sec)) * S);
      return Array.from({ length: e.out.length }, (_, i) => [
        (e.out.start[i] - T0) / M,
        e.out.open[i],
        e.out.close[i],
        e.out.trades[i],
        e.out.revision[i],
      ]);
    };
    return feed;
  };

  it('fill prev: a corrected bar re-emits the filled bars that repeat it, with their next revision', () => {
    const feed = correcting('prev');
    expect(
      feed([
        [10, 1],
        [190, 5],
      ]),
    ).toEqual([[0, 1, 1, 1, 0]]);
    expect(feed([[250, 6]])).toEqual([
      [1, 1, 1, 0, 0],
      [2, 1, 1, 0, 0],
      [3, 5, 5, 1, 0],
    ]);
    // A late trade into 0m changes its close: 1m and 2m repeated it.
    expect(feed([[30, 9]])).toEqual([
      [0, 1, 9, 2, 1],
      [1, 1, 9, 0, 1],
      [2, 1, 9, 0, 1],
    ]);
    // A late trade into the filled 2m makes it a real bar (revision 2); nothing repeats 1m's values.
    expect(feed([[150, 4]])).toEqual([[2, 4, 4, 1, 2]]);
  });

  it('fill linear: both sides of a corrected bar are interpolated again', () => {
    const feed = correcting('linear');
    feed([
      [10, 1],
      [190, 4],
    ]);
    expect(feed([[250, 4]]).map((r) => r.slice(0, 3))).toEqual([
      [1, 2, 2],
      [2, 3, 3],
      [3, 4, 4],
    ]);
    // 3m's close 4 -> 10 (a later trade): 1m and 2m interpolate towards it.
    expect(feed([[200, 10]])).toEqual([
      [3, 4, 10, 2, 1],
      [1, 2, 4, 0, 1],
      [2, 3, 7, 0, 1],
    ]);
    // A trade into the filled 1m: a real bar there, then 2m between it and 3m.
    expect(feed([[70, 1]])).toEqual([
      [1, 1, 1, 1, 2],
      [2, 2.5, 5.5, 0, 2],
    ]);
  });

  it('a corrected last bar is what later filled bars repeat', () => {
    const feed = correcting('prev');
    expect(
      feed([
        [10, 1],
        [130, 3],
      ]),
    ).toEqual([[0, 1, 1, 1, 0]]);
    // 0m is the last bar emitted: a late trade changes what the filled 1m will repeat.
    expect(feed([[20, 7]])).toEqual([[0, 1, 7, 2, 1]]);
    expect(feed([[250, 5]])).toEqual([
      [1, 1, 7, 0, 0],
      [2, 3, 3, 1, 0],
    ]);
  });

  it('a late first bar of a key gets the filled bars up to the old first one', () => {
    for (const fill of ['prev', 'null'] as const) {
      const feed = correcting(fill);
      feed([
        [130, 5],
        [190, 6],
      ]);
      const out = feed([[10, 1]]);
      expect(
        out.map((r) => [r[0], r[3], r[4]]),
        fill,
      ).toEqual([
        [0, 1, 0],
        [1, 0, 0],
      ]);
      // null fills never depend on their neighbours: a correction re-emits the bar alone.
      if (fill === 'null') expect(feed([[20, 2]]).map((r) => r[0])).toEqual([0]);
    }
  });

  it('property: with late: correct, the latest revision of every bar is the batch result, whatever the arrival order', () => {
    const barsOf = (out: ResampleEngine['out'], from = 0) =>
      Array.from({ length: out.length - from }, (_, q) => {
        const i = from + q;
        return [
          out.key[i],
          out.start[i],
          out.open[i],
          out.high[i],
          out.low[i],
          out.close[i],
          out.volume[i],
          out.vwap[i],
          out.trades[i],
        ];
      });
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 50 }),
          keys: fc.integer({ min: 1, max: 3 }),
          fill: fc.constantFrom<ResampleKernelOptions['fill']>('none', 'prev', 'linear', 'null', 0),
          every: fc.constantFrom('1m', '2m'),
          chunk: fc.integer({ min: 1, max: 6 }),
          seed: fc.integer(),
        }),
        (o) => {
          const rnd = seededRandom(o.seed);
          // Distinct times (open and close follow time, not arrival), integer prices and sizes (sums
          // exact in any order).
          const secs = new Set<number>();
          while (secs.size < o.n) secs.add(Math.floor(rnd() * 1800));
          const rows = [...secs].map((sec) => ({
            t: T0 + sec * S,
            p: 1 + Math.floor(rnd() * 20),
            s: 1 + Math.floor(rnd() * 5),
            k: Math.floor(rnd() * o.keys),
          }));
          const opts: ResampleKernelOptions = { every: o.every, fill: o.fill };
          const sorted = [...rows].sort((a, b) => a.t - b.t);
          const batch = resampleKernel(
            col(sorted.map((r) => r.t)),
            Int32Array.from(sorted, (r) => r.k),
            col(sorted.map((r) => r.p)),
            col(sorted.map((r) => r.s)),
            opts,
          );
          const e = new ResampleEngine({
            ...opts,
            mode: 'stream',
            late: 'correct',
            correctionHorizonUs: 1e15,
          });
          const latest = new Map<string, number[]>();
          const upsert = () => {
            for (const b of barsOf(e.out)) latest.set(`${b[0]}:${b[1]}`, b);
            e.out.clear();
          };
          let max = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < rows.length; i += o.chunk) {
            const part = rows.slice(i, i + o.chunk);
            e.push(
              col(part.map((r) => r.t)),
              Int32Array.from(part, (r) => r.k),
              col(part.map((r) => r.p)),
              col(part.map((r) => r.s)),
              { firstUs: sorted[0].t },
            );
            for (const r of part) max = Math.max(max, r.t);
            e.advance(max);
            upsert();
          }
          e.flush();
          upsert();
          const byKeyTime = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1];
          expect([...latest.values()].sort(byKeyTime)).toEqual(barsOf(batch.bars).sort(byKeyTime));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tracks the oldest tag among open windows', () => {
    const e = new ResampleEngine({ every: '1m', mode: 'stream' });
    e.push(col([T0 + 10 * S]), undefined, col([1]), col([1]), { tag: 3 });
    e.push(col([T0 + 70 * S]), undefined, col([1]), col([1]), { tag: 4 });
    expect(e.minOpenTag()).toBe(3);
    e.advance(T0 + 70 * S);
    expect(e.minOpenTag()).toBe(4);
    e.flush();
    expect(e.hasOpen()).toBe(false);
  });
});

describe('resample engine: what the parallel batch operator reads', () => {
  const rows: Row[] = [
    { t: T0 + 1 * S, p: 10, s: 2, k: 1 },
    { t: T0 + 2 * S, p: Number.NaN, s: 3, k: 0 },
    { t: T0 + 3 * S, p: 12, s: Number.NaN, k: 1 },
    { t: T0 + 4 * S, p: 11, s: 1, k: 0 },
    { t: T0 + 150 * S, p: 13, s: 4, k: 1 },
  ];
  const feed = (opts: ResampleKernelOptions) => {
    const e = new ResampleEngine({ ...opts, mode: 'batch' });
    e.push(
      new Float64Array(rows.map((r) => r.t)),
      new Int32Array(rows.map((r) => r.k ?? 0)),
      new Float64Array(rows.map((r) => r.p)),
      new Float64Array(rows.map((r) => r.s ?? 1)),
      { keyCount: 3 },
    );
    e.flush();
    return e;
  };

  it('keeps each bar’s Σ price·size (0 for filled bars)', () => {
    const e = feed({ every: '1m', fill: 'prev' });
    const pv = Array.from({ length: e.out.length }, (_, i) => [e.out.key[i], e.out.pv[i]]);
    expect(pv.sort((a, b) => a[0] - b[0])).toEqual([
      [0, 11],
      [1, 20],
      [1, 0],
      [1, 52],
    ]);
  });

  it('reports each key’s first and last time with a price, one window per row or several', () => {
    for (const opts of [{ every: '1m' }, { every: '1m', period: '2m', closed: 'both' as const }]) {
      const { first, last } = feed(opts).keyTimeRanges();
      expect(Array.from(first.subarray(0, 3)), JSON.stringify(opts)).toEqual([
        T0 + 4 * S,
        T0 + 1 * S,
        Number.NaN,
      ]);
      expect(Array.from(last.subarray(0, 3)), JSON.stringify(opts)).toEqual([
        T0 + 4 * S,
        T0 + 150 * S,
        Number.NaN,
      ]);
    }
  });
});
