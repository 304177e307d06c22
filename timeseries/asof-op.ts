/**
 * The `asof_join` op: a streaming as-of join of the stream it is in (left) with another source or
 * stream (`right`), with Polars `join_asof` options. Spec, factory and registration; the operator
 * is {@link asofJoinStream} (timeseries/asof-stream.ts).
 */
import { z } from 'zod';
import { zDurationMs } from '../config/common.ts';
import type { OpSpec, Registry } from '../config/registry.ts';
import { parseDuration } from '../config/units.ts';
import { asofJoinStream, newAsofStreamStats } from './asof-stream.ts';
import { reportStats } from './op-stats.ts';

const zColumn = z.string().min(1);
const zColumns = z.union([zColumn, z.array(zColumn).min(1)]);

/** A number in the unit of the `on` column, or a fixed duration string for timestamp columns. */
const zSpan = (what: string) =>
  z
    .union([
      z.number().nonnegative(),
      z.string().refine((s) => {
        const d = parseDuration(s);
        return d !== undefined && d.months === 0;
      }, `${what}: expected a duration such as 500ms, 1s or 5m (no months), or a number in the on unit`),
    ])
    .describe(`${what}: a duration (500ms, 1s, 5m) for timestamp columns, or a number in the on unit`);

export const zAsofJoinConfig = z
  .strictObject({
    right: zColumn.describe('The right input: the name of a source or stream'),
    on: zColumn.optional().describe('The as-of column of both sides (or left_on and right_on)'),
    left_on: zColumn.optional().describe('The as-of column of the left side (this stream)'),
    right_on: zColumn.optional().describe('The as-of column of the right side'),
    by: zColumns.optional().describe('Equality key column(s) of both sides, e.g. symbol or [symbol, venue]'),
    by_left: zColumns.optional().describe('Key column(s) of the left side (with by_right)'),
    by_right: zColumns
      .optional()
      .describe('Key column(s) of the right side (with by_left), in the same order'),
    strategy: z
      .enum(['backward', 'forward', 'nearest'])
      .default('backward')
      .describe(
        'backward: last right row with on <= left; forward: first right row with on >= left; nearest: closest (ties go to the later row)',
      ),
    tolerance: zSpan('tolerance')
      .optional()
      .describe('Inclusive bound on |left - right| (e.g. 1s); farther rows do not match'),
    allow_exact_matches: z
      .boolean()
      .default(true)
      .describe('Whether equal on values match; false gives strict < (backward) or > (forward)'),
    suffix: z.string().default('_right').describe('Appended to right column names that clash with left ones'),
    allowed_lateness: zSpan('allowed_lateness')
      .optional()
      .describe(
        'How far behind the newest row a row may arrive (default 0); the right watermark is max right on minus this',
      ),
    max_right_rows_per_key: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('Bound on the right rows kept per key; the oldest are dropped beyond it (counted)'),
    idle_timeout: zDurationMs
      .optional()
      .describe(
        'When the right input sends nothing for this long (processing time), its event time advances with the clock, so left rows are not held by a quiet right side (timestamp on columns)',
      ),
    emit: z
      .enum(['final', 'immediate'])
      .default('final')
      .describe(
        'final: emit a left row once its match cannot change (waits for the right watermark); immediate: match at once (backward only, lower latency, depends on arrival timing)',
      ),
  })
  .superRefine((c, ctx) => {
    if (c.on === undefined && (c.left_on === undefined || c.right_on === undefined))
      ctx.addIssue({ code: 'custom', message: 'give on, or both left_on and right_on', path: ['on'] });
    if (c.on !== undefined && (c.left_on !== undefined || c.right_on !== undefined))
      ctx.addIssue({ code: 'custom', message: 'give either on or left_on/right_on, not both', path: ['on'] });
    if (c.by !== undefined && (c.by_left !== undefined || c.by_right !== undefined))
      ctx.addIssue({ code: 'custom', message: 'give either by or by_left/by_right, not both', path: ['by'] });
    const n = (v: string | string[] | undefined) =>
      v === undefined ? 0 : typeof v === 'string' ? 1 : v.length;
    if (n(c.by_left) !== n(c.by_right))
      ctx.addIssue({
        code: 'custom',
        message: 'by_left and by_right must name the same number of columns',
        path: ['by_left'],
      });
    if (c.emit === 'immediate' && c.strategy !== 'backward')
      ctx.addIssue({ code: 'custom', message: 'emit: immediate needs strategy: backward', path: ['emit'] });
  })
  .describe(
    'As-of join with another stream (Polars join_asof): every row of this stream gets the matching right row',
  );

export type AsofJoinConfig = z.output<typeof zAsofJoinConfig>;

export const asofJoinSpec: OpSpec<AsofJoinConfig> = {
  kind: 'op',
  name: 'asof_join',
  summary:
    'As-of join with another stream by time (backward, forward or nearest), per key, with a tolerance; each left row is emitted once its match is final.',
  stability: 'beta',
  config: zAsofJoinConfig,
  examples: [
    {
      title: 'Prevailing quote for each trade, per symbol, at most 1 s old',
      yaml: 'right: quotes\non: ts\nby: symbol\ntolerance: 1s\nidle_timeout: 2s\n',
    },
    {
      title: 'Next quote strictly after each trade, keys named differently on each side',
      yaml: 'right: quotes\nleft_on: ts\nright_on: quote_ts\nby_left: [symbol, venue]\nby_right: [sym, exchange]\nstrategy: forward\nallow_exact_matches: false\nallowed_lateness: 200ms\n',
    },
  ],
  create(config, ctx) {
    const { right, idle_timeout, ...opts } = config;
    const stats = newAsofStreamStats();
    const op = asofJoinStream(
      ctx.stream(right),
      { ...opts, idle_timeout_ms: idle_timeout, right_schema: ctx.schemaOf(right), stats },
      ctx.clock,
    );
    const events = {
      lateRightRows: 'right_late_dropped',
      evictedRightRows: 'right_evicted',
      lateLeftRows: 'left_late',
    };
    return (input) => op(input).pipe(reportStats(stats, events, ctx));
  },
};

/** Register the `asof_join` op. */
export function registerAsof(registry: Registry): void {
  registry.register(asofJoinSpec);
}
