/**
 * The `resample_ohlcv` op: YAML spec, factory (the streaming operator) and registration.
 */
import { z } from 'zod';
import { zCalendarDuration, zDurationMs } from '../config/common.ts';
import type { OpSpec, Registry } from '../config/registry.ts';
import { validateGridOptions, WindowConfigError } from './kernels/calendar.ts';
import { reportStats } from './op-stats.ts';
import { type ResampleStreamStats, resampleOhlcvStream } from './resample-stream.ts';

export const zResampleOhlcv = z
  .strictObject({
    every: zCalendarDuration.describe(
      'Window stride: 1s, 1m, 1h, 1d (local days), 1w (Monday weeks), 1mo (months), ...',
    ),
    period: zCalendarDuration
      .optional()
      .describe('Window length; defaults to every. Longer than every gives overlapping windows'),
    offset: z
      .string()
      .optional()
      .describe('Shift of the window grid, e.g. 30s or -1h; defaults to 0 (ignored with first_observation)'),
    closed: z
      .enum(['left', 'right', 'both', 'none'])
      .default('left')
      .describe('Which window ends include their boundary: left = [start, end), right = (start, end]'),
    label: z
      .enum(['left', 'right'])
      .default('left')
      .describe('Bar time: window start (left) or window end (right)'),
    by: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe('Key column(s), e.g. [symbol]; bars are computed per key'),
    align: z
      .enum(['calendar', 'first_observation'])
      .default('calendar')
      .describe('calendar: grid aligned to the epoch/local calendar; first_observation: to the first row'),
    time_zone: z
      .string()
      .optional()
      .describe('IANA zone for calendar alignment (default UTC); day/week/month strides follow its calendar'),
    fill: z
      .union([z.enum(['none', 'null', 'prev', 'linear']), z.number()])
      .default('none')
      .describe('Empty windows between a key’s bars: none (skip), null, prev, linear, or a constant price'),
    price: z.string().min(1).default('price').describe('Price column'),
    size: z.string().min(1).default('size').describe('Size (quantity) column'),
    ts: z.string().min(1).optional().describe('Event-time column; default: the first timestamp column'),
    allowed_lateness: zDurationMs
      .default(0)
      .describe('Watermark = max event time seen minus this; a bar is final when its window end reaches it'),
    late: z
      .enum(['drop', 'correct'])
      .default('drop')
      .describe('Rows in an already final bar: drop (counted) or correct (re-emit the bar with a revision)'),
    correction_horizon: zDurationMs
      .default(300_000)
      .describe('With late: correct, how far behind the watermark closed bars are kept for corrections'),
    provisional: z
      .strictObject({
        interval: zDurationMs.describe('How often open bars that changed are emitted with final = false'),
      })
      .optional()
      .describe('Emit provisional bars of open windows; adds a final column'),
    idle_timeout: zDurationMs
      .optional()
      .describe('When no batch arrives for this long, event time advances with the clock so bars close'),
    include_first_last_ts: z
      .boolean()
      .default(false)
      .describe('Add first_ts and last_ts: event times of the first and last trade of each bar'),
  })
  .superRefine((c, ctx) => {
    try {
      validateGridOptions({
        every: c.every,
        period: c.period,
        offset: c.offset,
        align: c.align,
        timeZone: c.time_zone,
      });
    } catch (e) {
      if (!(e instanceof WindowConfigError)) throw e;
      const field = e.message.split(':')[0];
      ctx.addIssue({ code: 'custom', message: e.message, path: [field in c ? field : 'every'] });
    }
  })
  .describe('OHLCV bars per key and time window (Polars group_by_dynamic + QuestDB SAMPLE BY)');

export type ResampleOhlcvConfig = z.output<typeof zResampleOhlcv>;

export const resampleOhlcvSpec: OpSpec<ResampleOhlcvConfig> = {
  kind: 'op',
  name: 'resample_ohlcv',
  summary:
    'Trades to OHLCV bars (open, high, low, close, volume, vwap, trades) per key and window, emitted when final by event time.',
  stability: 'beta',
  config: zResampleOhlcv,
  examples: [
    {
      title: '1-minute bars per symbol, 2 s lateness',
      yaml: 'every: 1m\nby: [symbol]\nprice: price\nsize: size\nallowed_lateness: 2s\n',
    },
    {
      title: 'New York daily bars with forward fill and provisional updates',
      yaml: 'every: 1d\nby: symbol\ntime_zone: America/New_York\nfill: prev\nprovisional: { interval: 1s }\nidle_timeout: 30s\n',
    },
    {
      title: '5-minute bars every minute, corrected on late trades',
      yaml: 'every: 1m\nperiod: 5m\nby: [symbol]\nlate: correct\nallowed_lateness: 500ms\ncorrection_horizon: 10m\n',
    },
  ],
  create(c, ctx) {
    const stats: ResampleStreamStats = { lateDropped: 0, lateCorrected: 0, invalidRows: 0, barsEmitted: 0 };
    const op = resampleOhlcvStream(
      {
        every: c.every,
        period: c.period,
        offset: c.offset,
        closed: c.closed,
        label: c.label,
        by: c.by,
        align: c.align,
        timeZone: c.time_zone,
        fill: c.fill,
        price: c.price,
        size: c.size,
        indexColumn: c.ts,
        allowedLatenessMs: c.allowed_lateness,
        late: c.late,
        correctionHorizonMs: c.correction_horizon,
        provisional: c.provisional ? { intervalMs: c.provisional.interval } : undefined,
        idleTimeoutMs: c.idle_timeout,
        includeFirstLastTs: c.include_first_last_ts,
        stats,
      },
      ctx.clock,
    );
    const events = { lateDropped: 'late_dropped', lateCorrected: 'late_corrected', invalidRows: 'invalid' };
    return (input) => op(input).pipe(reportStats(stats, events, ctx));
  },
};

/** Register `resample_ohlcv` (the lead wires this into the timeseries barrel). */
export function registerResample(registry: Registry): void {
  registry.register(resampleOhlcvSpec);
}
